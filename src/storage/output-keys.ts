import { createHash } from "node:crypto";
import path from "node:path/posix";
import { processingError } from "../errors.ts";
import {
  FLAT_OUTPUT_NAME,
  MANIFEST_SUFFIX,
  NESTED_OUTPUT_SEGMENT,
  parseOutputKey,
  RUN_TOKEN_LENGTH,
} from "../s3-events/key-rules.ts";

/**
 * The output key layout (its grammar and why it is unambiguous: src/s3-events/key-rules.ts). For
 * `tenants/t1/users/u1/media/1700000000-abc-photo.jpg`, segment `processed` and run `1a2b3c4d`:
 *   flat name `thumb_small.webp` → `…/media/processed/1700000000-abc-photo.jpg.1a2b3c4d_thumb_small.webp`
 *   nested name `hls/master.m3u8` → `…/media/processed/1700000000-abc-photo.jpg.1a2b3c4d/hls/master.m3u8`
 *   the manifest                  → `…/media/processed/1700000000-abc-photo.jpg_manifest.json`
 * Every run (a new upload, a retry, a re-run after a crash) writes keys no earlier run wrote, so
 * outputs can be cached forever; the manifest, at one stable key per source, names the current
 * run's outputs and is the only key ever overwritten.
 */
export interface OutputLayout {
  /** `…/processed/` including the trailing slash. */
  prefix: string;
  /** The source file name (extension included), shortened when a key would pass MAX_KEY_BYTES. */
  base: string;
  /** Eight hex digits naming this run. */
  run: string;
}

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** The longest output name a processor may ask for (`hls/1080p/segment_00001.ts` is 26). */
export const MAX_OUTPUT_NAME_BYTES = 64;
/** The fewest bytes a shortened base may have: a few readable characters, `~` and the hash. */
const MIN_BASE_BYTES = 24;
const HASH_HEX_LENGTH = 16;
/** What a shortened base ends with; a real name of this shape is shortened too, so the two never meet. */
const SHORTENED = /~[0-9a-f]{16}(\.[^.]{1,16})?$/s;

export const MANIFEST_NAME = "manifest.json";

/** The run token of one attempt of one job: new for every attempt, the same when computed again. */
export function runToken(jobId: string, attempt: number): string {
  return createHash("sha256").update(`${jobId}\u0000${attempt}`).digest("hex").slice(0, RUN_TOKEN_LENGTH);
}

/**
 * The layout of one run, checked before anything is downloaded: the longest key it can write
 * (a nested name of MAX_OUTPUT_NAME_BYTES) fits MAX_KEY_BYTES, or the base is shortened to a
 * readable prefix plus a hash of the whole name (deterministically: the same source always gets
 * the same base). When even that cannot fit (a folder path near 1024 bytes), it throws a
 * non-retried `output-key-too-long`.
 */
export function outputLayout(sourceKey: string, outputSegment: string, run: string): OutputLayout {
  const directory = path.dirname(sourceKey);
  const fileName = path.basename(sourceKey);
  const prefix = directory === "." ? `${outputSegment}/` : `${directory}/${outputSegment}/`;
  const budget = MAX_KEY_BYTES - utf8Bytes(prefix) - 1 - RUN_TOKEN_LENGTH - 1 - MAX_OUTPUT_NAME_BYTES;
  if (budget < MIN_BASE_BYTES) {
    throw processingError(
      "output-key-too-long",
      `the source's folder is ${utf8Bytes(directory)} bytes long: its outputs' keys would pass S3's limit of ${MAX_KEY_BYTES} bytes`,
    );
  }
  const base = utf8Bytes(fileName) <= budget && !SHORTENED.test(fileName) ? fileName : shortenedBase(fileName, budget);
  return { prefix, base, run };
}

/** `<readable start of the name>~<16 hex of sha256(name)><extension>`, within `budget` bytes. */
function shortenedBase(fileName: string, budget: number): string {
  const extension = path.extname(fileName);
  const fixedBytes = 1 + HASH_HEX_LENGTH;
  // Keep a short extension (`.HEIC`) for readability when a few characters of the name still fit.
  const keepExtension =
    extension.length > 1 && utf8Bytes(extension) <= 17 && budget - fixedBytes - utf8Bytes(extension) >= 4;
  const keptExtension = keepExtension ? extension : "";
  const stem = keepExtension ? fileName.slice(0, -extension.length) : fileName;
  const hash = createHash("sha256").update(fileName).digest("hex").slice(0, HASH_HEX_LENGTH);
  return `${truncateUtf8(stem, budget - fixedBytes - utf8Bytes(keptExtension))}~${hash}${keptExtension}`;
}

/** The longest start of `text` that fits `maxBytes` in UTF-8, never cutting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const character of text) {
    const size = utf8Bytes(character);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += character.length;
  }
  return text.slice(0, end);
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, "utf8");

/** Output names are chosen by processors; they are checked so a bug can never escape the layout. */
export function outputKey(layout: OutputLayout, name: string): string {
  const nested = name.includes("/");
  const parts = name.split("/");
  const valid = nested
    ? parts.every((part) => NESTED_OUTPUT_SEGMENT.test(part) && part !== "." && part !== "..")
    : FLAT_OUTPUT_NAME.test(name) && !name.endsWith(MANIFEST_NAME);
  if (!valid || utf8Bytes(name) > MAX_OUTPUT_NAME_BYTES) {
    throw processingError(
      "invalid-output-name",
      `a processor asked for the output name "${name.slice(0, 80)}", which the output layout does not allow`,
    );
  }
  return `${layout.prefix}${layout.base}.${layout.run}${nested ? "/" : "_"}${name}`;
}

/** The stable key of a source's manifest: the same for every run. */
export function manifestKey(layout: Pick<OutputLayout, "prefix" | "base">): string {
  return `${layout.prefix}${layout.base}${MANIFEST_SUFFIX}`;
}

/** The two key prefixes one run writes under (its flat files and its trees). */
export function runPrefixes(layout: OutputLayout): [string, string] {
  return [`${layout.prefix}${layout.base}.${layout.run}_`, `${layout.prefix}${layout.base}.${layout.run}/`];
}

/** The prefix every run of this source writes under (it also lists other sources whose name starts the same: filter with {@link runOf}). */
export function sourceRunsPrefix(layout: OutputLayout): string {
  return `${layout.prefix}${layout.base}.`;
}

/** The run a listed key belongs to, if it is a run output of this very source; undefined otherwise. */
export function runOf(key: string, layout: OutputLayout, outputSegment: string): string | undefined {
  const parsed = parseOutputKey(key, outputSegment);
  if (!parsed || parsed.kind === "manifest" || parsed.prefix !== layout.prefix || parsed.base !== layout.base)
    return undefined;
  return parsed.run;
}

export interface ListedOutput {
  key: string;
  lastModified: Date | undefined;
}

/**
 * Which of a source's listed outputs to delete once `layout.run`'s manifest is written: every key
 * of the run the previous manifest named, and every key of a run whose first object is older than
 * `deadRunAgeMs` (no run lives longer than the processing timeout, so such a run crashed or was
 * superseded). Runs still in progress (a same-bytes re-upload processed alongside) are left alone;
 * the next manifest deletes them.
 */
export function staleRunKeys(
  listed: readonly ListedOutput[],
  layout: OutputLayout,
  outputSegment: string,
  previousRun: string | undefined,
  now: number,
  deadRunAgeMs: number,
): string[] {
  const byRun = new Map<string, ListedOutput[]>();
  for (const item of listed) {
    const run = runOf(item.key, layout, outputSegment);
    if (run === undefined || run === layout.run) continue;
    byRun.set(run, [...(byRun.get(run) ?? []), item]);
  }
  const stale: string[] = [];
  for (const [run, items] of byRun) {
    const oldest = Math.min(...items.map((item) => item.lastModified?.getTime() ?? now));
    if (run === previousRun || now - oldest > deadRunAgeMs) stale.push(...items.map((item) => item.key));
  }
  return stale.sort();
}

/** An output's absolute URL under CDN_BASE_URL (no trailing slash): each key segment percent-encoded, the slashes kept. */
export function cdnUrlOf(cdnBaseUrl: string, key: string): string {
  return `${cdnBaseUrl}/${key.split("/").map(encodeURIComponent).join("/")}`;
}
