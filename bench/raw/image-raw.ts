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
 */
import { readFile, mkdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { OutputInfo, Sharp } from "sharp";
import type { AppConfig } from "../../src/config/config.ts";
import { EXTENSION, fitInside, planVariants, type VariantPlan } from "../../src/processors/image/image.plan.ts";
import { cpuSecondsNow, peakRssMiB, runPool, type RawRunResult } from "./raw-common.ts";

export interface ImageRawRequest {
  files: string[];
  outDir: string;
  concurrency: number;
  mode: "shared-decode" | "per-variant";
  image: AppConfig["image"];
}

type RawImage = { data: Buffer; info: OutputInfo & { channels: 1 | 2 | 3 | 4 } };

/**
 * The encoder settings of `encode()` in src/processors/image.processor.ts, copied (the processor
 * does not export them). The images area checks after each run that both sides wrote outputs of
 * the same names and sizes, so a change on one side only shows up in the results.
 * Note: sharp's PNG `effort` turns on palette quantisation (libimagequant).
 */
function withFormat(pipeline: Sharp, plan: VariantPlan, image: AppConfig["image"]): Sharp {
  switch (plan.format) {
    case "jpeg":
      return pipeline.jpeg({ quality: image.jpegQuality, mozjpeg: true, progressive: true, chromaSubsampling: image.jpegChromaSubsampling });
    case "png":
      return pipeline.png({ compressionLevel: 9, adaptiveFiltering: true, effort: 7 });
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
  const plans = planVariants({ format: header.format ?? "jpeg", width: header.width ?? 0, height: header.height ?? 0, pages: header.pages ?? 1, hasAlpha: header.hasAlpha ?? false }, image);
  const { data, info } = await sharp(file, { limitInputPixels: image.maxPixels, sequentialRead: true })
    .autoOrient()
    .resize(image.webMaxDimension, image.webMaxDimension, { fit: "inside", withoutEnlargement: true })
    .toColourspace("srgb")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const web: RawImage = { data, info: info as RawImage["info"] };
  await Promise.all(
    plans.map((plan) => {
      let pipeline: Sharp;
      if (plan.source === "web") {
        pipeline = sharp(web.data, { raw: web.info });
        const target = fitInside(web.info.width, web.info.height, plan.maxDimension);
        if (target.width !== web.info.width || target.height !== web.info.height) pipeline = pipeline.resize(target.width, target.height);
      } else {
        pipeline = sharp(file, { limitInputPixels: image.maxPixels, sequentialRead: true }).autoOrient().keepIccProfile();
      }
      return withFormat(pipeline, plan, image).toFile(`${outBase}_${plan.variant}.${EXTENSION[plan.format]}`);
    }),
  );
}

async function perVariant(file: string, outBase: string, image: AppConfig["image"]): Promise<void> {
  const header = await sharp(file).metadata();
  const plans = planVariants({ format: header.format ?? "jpeg", width: header.width ?? 0, height: header.height ?? 0, pages: header.pages ?? 1, hasAlpha: header.hasAlpha ?? false }, image);
  await Promise.all(
    plans.map((plan) => {
      let pipeline = sharp(file, { limitInputPixels: image.maxPixels }).autoOrient();
      if (plan.maxDimension !== undefined) pipeline = pipeline.resize(plan.maxDimension, plan.maxDimension, { fit: "inside", withoutEnlargement: true });
      if (plan.variant === "optimized") pipeline = pipeline.keepIccProfile();
      return withFormat(pipeline, plan, image).toFile(`${outBase}_${plan.variant}.${EXTENSION[plan.format]}`);
    }),
  );
}

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as ImageRawRequest;
await mkdir(request.outDir, { recursive: true });
const convert = request.mode === "shared-decode" ? sharedDecode : perVariant;
const cpuBefore = await cpuSecondsNow();
const started = performance.now();
await runPool(request.files, request.concurrency, (file, index) => convert(file, path.join(request.outDir, `${index}-${path.parse(file).name}`), request.image));
const wallMs = performance.now() - started;
const result: RawRunResult = { wallMs, items: request.files.length, peakRssMiB: await peakRssMiB(), cpuSec: (await cpuSecondsNow()) - cpuBefore };
process.stdout.write(`${JSON.stringify(result)}\n`);
