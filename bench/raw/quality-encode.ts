/**
 * The encoding side of the quality area, run as its own process with MALLOC_ARENA_MAX=2 like
 * the worker: every candidate setting encoded from the same decode the image processor makes
 * (one oriented sRGB decode shrunk to the web size; the full image for the optimized original),
 * one encode at a time so each one's CPU seconds (user + sys of this process, all of libvips'
 * threads) are its own. CPU time, not wall time: the machine is shared and wall time is noisy.
 *
 *   node bench/raw/quality-encode.ts <request.json>   → prints one JSON line (RawRunResult)
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { Sharp } from "sharp";
import { fitInside } from "../../src/processors/image/image.plan.ts";
import { peakRssMiB, type RawRunResult } from "./raw-common.ts";

export interface QualityEncodeSpec {
  id: string;
  input: string;
  format: "jpeg" | "webp" | "avif";
  quality: number;
  /** AVIF only. */
  effort?: number;
  /** JPEG only: sharp's default is 4:2:0. */
  chromaSubsampling?: "4:2:0" | "4:4:4";
  /** Bounding box; undefined keeps the source size (the optimized original). */
  maxDimension: number | undefined;
}

export interface QualityEncodeRequest {
  encodes: QualityEncodeSpec[];
  outDir: string;
  webMaxDimension: number;
}

export interface QualityEncodeResult {
  id: string;
  file: string;
  bytes: number;
  cpuSec: number;
  width: number;
  height: number;
}

/** The encoder calls of src/processors/image.processor.ts `encode()` (not exported there), per format. */
function withFormat(pipeline: Sharp, spec: QualityEncodeSpec): Sharp {
  switch (spec.format) {
    case "jpeg":
      return pipeline.jpeg({
        quality: spec.quality,
        mozjpeg: true,
        progressive: true,
        chromaSubsampling: spec.chromaSubsampling ?? "4:2:0",
      });
    case "webp":
      return pipeline.webp({ quality: spec.quality, effort: 4, smartSubsample: true });
    case "avif":
      return pipeline.avif({ quality: spec.quality, effort: spec.effort ?? 4 });
  }
}

const cpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as QualityEncodeRequest;
await mkdir(request.outDir, { recursive: true });
type RawImage = { data: Buffer; info: { width: number; height: number; channels: 1 | 2 | 3 | 4 } };
const webDecodes = new Map<string, RawImage>();
const results: QualityEncodeResult[] = [];
const started = performance.now();
const cpuStart = cpuSeconds();
for (const spec of request.encodes) {
  let web = webDecodes.get(spec.input);
  if (!web && spec.maxDimension !== undefined) {
    const { data, info } = await sharp(spec.input)
      .autoOrient()
      .resize(request.webMaxDimension, request.webMaxDimension, { fit: "inside", withoutEnlargement: true })
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    web = { data, info: info as RawImage["info"] };
    webDecodes.set(spec.input, web);
  }
  const before = cpuSeconds();
  let pipeline: Sharp;
  if (spec.maxDimension !== undefined && web) {
    pipeline = sharp(web.data, { raw: web.info });
    const target = fitInside(web.info.width, web.info.height, spec.maxDimension);
    if (target.width !== web.info.width || target.height !== web.info.height)
      pipeline = pipeline.resize(target.width, target.height);
  } else {
    pipeline = sharp(spec.input, { sequentialRead: true }).autoOrient();
  }
  const { data, info } = await withFormat(pipeline, spec).toBuffer({ resolveWithObject: true });
  const cpuSec = cpuSeconds() - before;
  const file = path.join(request.outDir, `${spec.id}.${spec.format === "jpeg" ? "jpg" : spec.format}`);
  await writeFile(file, data);
  results.push({ id: spec.id, file, bytes: data.length, cpuSec, width: info.width, height: info.height });
}
const result: RawRunResult = {
  wallMs: performance.now() - started,
  items: results.length,
  peakRssMiB: await peakRssMiB(),
  cpuSec: cpuSeconds() - cpuStart,
  detail: { results },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
