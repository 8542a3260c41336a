import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { MediaError, processingError } from "../errors.ts";
import { withoutPngChunks } from "./png-chunks.ts";
import { runTool } from "./tool-process.ts";

/**
 * HEIC (HEVC-coded HEIF, the iPhone camera's default) decoded by libheif's `heif-convert`
 * (Debian's libheif-examples, with libde265) into a PNG that sharp reads like any other.
 * The sharp build we ship decodes AVIF but not HEVC, which is patent-encumbered.
 *
 * libheif applies the container's rotation and mirroring (irot/imir) itself, so the pixels
 * come out upright; the EXIF block it copies into the PNG can still say "rotate 90°", and
 * following it would turn the picture a second time. The eXIf chunk is therefore removed: the
 * caller reads EXIF facts (camera, date, GPS) from the HEIC itself. The ICC profile (Display
 * P3 on iPhones) stays, so colours convert correctly.
 */

export const HEIF_DECODER_BINARY = "heif-convert";

/** Decoding a 48-megapixel grid image takes a few seconds; a file that takes this long is hostile or broken. */
export const HEIF_DECODE_TIMEOUT_MS = 120_000;

export async function decodeHeicToPng(inputPath: string, outputPath: string, signal: AbortSignal): Promise<string> {
  const result = await runTool({
    binary: HEIF_DECODER_BINARY,
    args: ["--quiet", inputPath, outputPath],
    signal,
    timeoutMs: HEIF_DECODE_TIMEOUT_MS,
  });
  if (result.timedOut) {
    throw new MediaError(`the HEIC image did not decode within ${HEIF_DECODE_TIMEOUT_MS / 1000} s`, {
      code: "heif-decode-timeout",
      category: "resource",
    });
  }
  if (result.exitCode !== 0) {
    const reason =
      result.stderrTail.trim().split("\n").slice(-3).join(" ") || `exit ${result.exitCode ?? result.exitSignal}`;
    throw processingError("image-corrupt", `the HEIC image cannot be decoded: ${reason}`, undefined, {
      decoder: HEIF_DECODER_BINARY,
    });
  }
  const written = await primaryOutput(outputPath);
  await writeFile(written, withoutPngChunks(await readFile(written), ["eXIf"]));
  return written;
}

/**
 * With several top-level images (bursts, collections) heif-convert numbers its outputs
 * `<name>-1.png`, `<name>-2.png`…, the primary image first; with one it writes `<name>.png`.
 */
async function primaryOutput(outputPath: string): Promise<string> {
  const directory = path.dirname(outputPath);
  const { name, ext } = path.parse(outputPath);
  const files = await readdir(directory);
  if (files.includes(path.basename(outputPath))) return outputPath;
  const first = `${name}-1${ext}`;
  if (files.includes(first)) return path.join(directory, first);
  throw processingError("image-corrupt", "the HEIC file holds no image libheif could write out");
}
