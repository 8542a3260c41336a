/**
 * The raw-sharp side of the image benchmark, run as its own process (so its peak RSS and its
 * MALLOC_ARENA_MAX are its own): the identical variants with identical settings, from local
 * files, written to local files. No queue, no Redis, no S3, no metadata, no placeholders.
 *
 *   node bench/raw/image-raw.ts <request.json>   → prints one JSON line (RawRunResult)
 *
 * Two ways a person gluing sharp together would write it:
 * - `shared-decode`: the processor's plan — one shrink-on-load decode to the web size that every
 *   web-sized variant is cut from, plus one full-size decode for the optimized original.
 * - `per-variant`: one plain `sharp(file)…toFile()` pipeline per variant.
 * - `variant-costs`: the `shared-decode` plan taken apart, one step at a time in one file at a time:
 *   CPU seconds, bytes and (when `ssimulacra2_rs` is installed) SSIMULACRA2 of each variant, and of
 *   the optimized PNG at the settings it had before issue 20 (256-colour palette) for comparison.
 */
import { readFile, mkdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { Metadata, OutputInfo, Sharp } from "sharp";
import type { AppConfig } from "../../src/config/config.ts";
import {
  decodesOnce,
  EXTENSION,
  fitInside,
  planVariants,
  pngOptions,
  type VariantPlan,
} from "../../src/processors/image/image.plan.ts";
import { scoreEncodedImage } from "../../src/processors/quality/image-quality.ts";
import { cpuSecondsNow, peakRssMiB, runPool, type RawRunResult } from "./raw-common.ts";

export interface ImageRawRequest {
  files: string[];
  outDir: string;
  concurrency: number;
  mode: "shared-decode" | "per-variant" | "variant-costs";
  image: AppConfig["image"];
  /** variant-costs: the ssimulacra2_rs executable, if installed. */
  ssimulacra2Binary?: string;
}

/** One row of `variant-costs`: a step of the shared-decode plan measured alone. */
export interface VariantCost {
  file: string;
  step: string;
  cpuSec: number;
  bytes?: number;
  ssimulacra2?: number;
}

/** Only the layout: toBuffer's `info` says `premultiplied: true` after a resize, which the buffer is not. */
type RawImage = { data: Buffer; info: { width: number; height: number; channels: 1 | 2 | 3 | 4 } };
const rawLayout = (info: OutputInfo): RawImage["info"] => ({
  width: info.width,
  height: info.height,
  channels: info.channels as RawImage["info"]["channels"],
});

/**
 * The encoder settings of `encode()` in src/processors/image.processor.ts, copied (the processor
 * does not export them). The images area checks after each run that both sides wrote outputs of
 * the same names and sizes, so a change on one side only shows up in the results.
 * The PNG settings are the processor's own (`pngOptions`, lossless unless the source is a palette PNG).
 */
function withFormat(pipeline: Sharp, plan: VariantPlan, image: AppConfig["image"]): Sharp {
  switch (plan.format) {
    case "jpeg":
      return pipeline.jpeg({
        quality: image.jpegQuality,
        mozjpeg: true,
        progressive: true,
        chromaSubsampling: image.jpegChromaSubsampling,
      });
    case "png":
      return pipeline.png(pngOptions(plan.palette));
    case "webp":
      return pipeline.webp({ quality: image.webpQuality, effort: 4, smartSubsample: true });
    case "avif":
      return pipeline.avif({ quality: image.avifQuality, effort: image.avifEffort });
    case "gif":
      return pipeline.gif({ effort: 7 });
  }
}

async function sharedDecode(file: string, outBase: string, image: AppConfig["image"]): Promise<void> {
  const header = await sharp(file).metadata();
  const plans = planVariants(
    {
      format: header.format ?? "jpeg",
      width: header.width ?? 0,
      height: header.height ?? 0,
      pages: header.pages ?? 1,
      hasAlpha: header.hasAlpha ?? false,
      isPalette: header.isPalette ?? false,
    },
    image,
  );
  const { web, full } = await decodeSource(file, header, image);
  await Promise.all(
    plans.map((plan) =>
      encodePlan(plan, file, web, image, full).toFile(`${outBase}_${plan.variant}.${EXTENSION[plan.format]}`),
    ),
  );
}

/** The processor's decode plan: a PNG it decodes once (decodesOnce) is decoded at full size and the web decode cut from it. */
async function decodeSource(
  file: string,
  header: Metadata,
  image: AppConfig["image"],
): Promise<{ web: RawImage; full: RawImage | undefined }> {
  const once = decodesOnce({
    format: header.format ?? "jpeg",
    pages: header.pages ?? 1,
    width: header.width ?? 0,
    height: header.height ?? 0,
    hasIccProfile: header.icc !== undefined,
    bitDepth: header.depth,
  });
  const input = sharp(file, { limitInputPixels: image.maxPixels, sequentialRead: true }).autoOrient();
  let full: RawImage | undefined;
  if (once) {
    const decoded = await input.raw().toBuffer({ resolveWithObject: true });
    full = { data: decoded.data, info: rawLayout(decoded.info) };
  }
  const { data, info } = await (full ? sharp(full.data, { raw: full.info }) : input)
    .resize(image.webMaxDimension, image.webMaxDimension, { fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { web: { data, info: rawLayout(info) }, full };
}

async function perVariant(file: string, outBase: string, image: AppConfig["image"]): Promise<void> {
  const header = await sharp(file).metadata();
  const plans = planVariants(
    {
      format: header.format ?? "jpeg",
      width: header.width ?? 0,
      height: header.height ?? 0,
      pages: header.pages ?? 1,
      hasAlpha: header.hasAlpha ?? false,
      isPalette: header.isPalette ?? false,
    },
    image,
  );
  await Promise.all(
    plans.map((plan) => {
      let pipeline = sharp(file, { limitInputPixels: image.maxPixels }).autoOrient();
      if (plan.maxDimension !== undefined)
        pipeline = pipeline.resize(plan.maxDimension, plan.maxDimension, { fit: "inside", withoutEnlargement: true });
      if (plan.variant === "optimized") pipeline = pipeline.keepIccProfile();
      return withFormat(pipeline, plan, image).toFile(`${outBase}_${plan.variant}.${EXTENSION[plan.format]}`);
    }),
  );
}

/** The PNG settings of the optimized original before issue 20: sharp's `effort` quantised every PNG to a palette. */
const PNG_BEFORE_ISSUE_20 = { compressionLevel: 9, adaptiveFiltering: true, effort: 7 } as const;

async function variantCosts(
  file: string,
  image: AppConfig["image"],
  ssimulacra2Binary: string | undefined,
  workDir: string,
): Promise<VariantCost[]> {
  const rows: VariantCost[] = [];
  const header = await sharp(file).metadata();
  const plans = planVariants(
    {
      format: header.format ?? "jpeg",
      width: header.width ?? 0,
      height: header.height ?? 0,
      pages: header.pages ?? 1,
      hasAlpha: header.hasAlpha ?? false,
      isPalette: header.isPalette ?? false,
    },
    image,
  );
  const full = () => sharp(file, { limitInputPixels: image.maxPixels, sequentialRead: true }).autoOrient();
  // The decode before issue 20 (a web decode from the file; the optimized original decodes the file again), for comparison.
  let started = await cpuSecondsNow();
  await full()
    .resize(image.webMaxDimension, image.webMaxDimension, { fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb")
    .raw()
    .toBuffer();
  const webFromFileSec = (await cpuSecondsNow()) - started;
  started = await cpuSecondsNow();
  const decoded = await decodeSource(file, header, image);
  const { web } = decoded;
  const decodedOnce = decoded.full;
  rows.push({
    file,
    step: decodedOnce ? "decode once at full size, web size cut from it" : "decode to the web size",
    cpuSec: (await cpuSecondsNow()) - started,
  });
  if (decodedOnce) rows.push({ file, step: "(before: decode to the web size from the file)", cpuSec: webFromFileSec });
  const steps = plans.map((plan) => ({
    step: plan.variant,
    plan,
    make: () => encodePlan(plan, file, web, image, decodedOnce),
  }));
  const optimizedPlan = plans.find((plan) => plan.variant === "optimized");
  if (optimizedPlan?.format === "png")
    steps.push({
      step: "optimized, 256-colour palette (before issue 20)",
      plan: optimizedPlan,
      make: () => full().keepIccProfile().png(PNG_BEFORE_ISSUE_20),
    });
  for (const { step, plan, make } of steps) {
    started = await cpuSecondsNow();
    const encoded = await make().toBuffer();
    const row: VariantCost = { file, step, cpuSec: (await cpuSecondsNow()) - started, bytes: encoded.length };
    if (ssimulacra2Binary) {
      const reference = plan.source === "web" ? sharp(web.data, { raw: web.info }) : full();
      row.ssimulacra2 = (
        await scoreEncodedImage(reference, encoded, {
          metrics: ["ssimulacra2"],
          workDir,
          name: `cost-${rows.length}`,
          ssimulacra2Binary,
        })
      ).ssimulacra2;
    }
    rows.push(row);
  }
  return rows;
}

function encodePlan(
  plan: VariantPlan,
  file: string,
  web: RawImage,
  image: AppConfig["image"],
  full?: RawImage | undefined,
): Sharp {
  let pipeline: Sharp;
  if (plan.source === "web") {
    pipeline = sharp(web.data, { raw: web.info });
    const target = fitInside(web.info.width, web.info.height, plan.maxDimension);
    if (target.width !== web.info.width || target.height !== web.info.height)
      pipeline = pipeline.resize(target.width, target.height);
  } else if (full && !plan.animated) {
    pipeline = sharp(full.data, { raw: full.info });
    if (plan.maxDimension !== undefined)
      pipeline = pipeline.resize(plan.maxDimension, plan.maxDimension, { fit: "inside", withoutEnlargement: true });
  } else {
    pipeline = sharp(file, { limitInputPixels: image.maxPixels, sequentialRead: true }).autoOrient().keepIccProfile();
  }
  return withFormat(pipeline, plan, image);
}

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as ImageRawRequest;
await mkdir(request.outDir, { recursive: true });
const cpuBefore = await cpuSecondsNow();
const started = performance.now();
const costs: VariantCost[] = [];
if (request.mode === "variant-costs") {
  // One file and one step at a time, so each step's CPU is its own.
  for (const file of request.files)
    costs.push(...(await variantCosts(file, request.image, request.ssimulacra2Binary, request.outDir)));
} else {
  const convert = request.mode === "shared-decode" ? sharedDecode : perVariant;
  await runPool(request.files, request.concurrency, (file, index) =>
    convert(file, path.join(request.outDir, `${index}-${path.parse(file).name}`), request.image),
  );
}
const wallMs = performance.now() - started;
const result: RawRunResult = {
  wallMs,
  items: request.files.length,
  peakRssMiB: await peakRssMiB(),
  cpuSec: (await cpuSecondsNow()) - cpuBefore,
  ...(costs.length > 0 ? { detail: { costs } } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
