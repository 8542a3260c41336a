import { open } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { Metadata, OutputInfo, Sharp } from "sharp";
import type { AppConfig } from "../config/config.ts";
import { MediaError, processingError, throwIfAborted } from "../errors.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import { convertApngToWebp } from "../media/apng-convert.ts";
import { decodeHeicToPng } from "../media/heif-decode.ts";
import { apngAnimation } from "../media/png-chunks.ts";
import { describeImage, type ImageFacts } from "./image/image.metadata.ts";
import { dominantColourOf, thumbHashOf } from "./image/image.placeholder.ts";
import {
  CONTENT_TYPE,
  decodesOnce,
  displayedSize,
  fitInside,
  isAnimation,
  planVariants,
  pngOptions,
  type VariantPlan,
} from "./image/image.plan.ts";
import { createImageScorer, withQuality } from "./quality/image-quality.ts";
import { qualityStepDetail } from "./quality/quality-summary.ts";
import type { OutputFile, ProcessContext, ProcessResult, Processor } from "./processor.ts";
import { runSteps, type Step } from "./step-runner.ts";

/** Formats decoded by the sharp build we ship. SVG is refused: it can reference external files. */
const ACCEPTED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "tiff", "avif", "heif"]);

/**
 * Images with sharp: inspect the header → refuse bombs → plan → decode → encode each variant →
 * placeholder → upload. EXIF (GPS included) never reaches an output; orientation is applied.
 */
export function createImageProcessor(config: AppConfig): Processor {
  const image = config.image;
  return {
    name: "image",
    accepts: (media: DetectedMedia) => media.kind === "image" && ACCEPTED_FORMATS.has(media.format),
    async process(ctx: ProcessContext): Promise<ProcessResult> {
      // The steps fill in every other field before the result is read.
      const run = { image, outputs: [] } as unknown as ImageRun;
      await runSteps(ctx, IMAGE_STEPS, run);
      return {
        outputs: run.outputs,
        metadata: {
          ...run.source.facts,
          ...describeAnimation(run.source.animation, run.plans),
          thumbhash: run.thumbhash,
          dominantColour: run.dominantColour,
        },
      };
    },
  };
}

/** What the steps learn and make, filled in as they run. */
interface ImageRun {
  image: AppConfig["image"];
  source: ReadableSource;
  plans: VariantPlan[];
  web: RawImage;
  /** The full-size decode the optimized original is encoded from, when the source is decoded once (see decodesOnce). */
  full: RawImage | undefined;
  outputs: OutputFile[];
  thumbhash: string;
  dominantColour: string;
}

/** The image steps, run in this order by the step runner (which checks the abort signal between them). */
const IMAGE_STEPS: readonly Step<ImageRun>[] = [
  {
    name: "inspect",
    run: async (run, { ctx }) => {
      run.source = await readableSource(ctx, run.image);
    },
  },
  {
    name: "decode",
    run: async (run, { progress }) => {
      run.plans = planVariants(run.source.planFacts, run.image);
      const input = openInput(run.source.sourcePath, run.image.maxPixels, false);
      run.full = decodesOnce(run.source.planFacts) ? await decodeFull(input) : undefined;
      run.web = await decodeForWeb(run.full ? rawInput(run.full) : input, run.image.webMaxDimension);
      progress(20, "decoded");
    },
  },
  {
    name: "encode",
    entry: "encoded",
    run: async (run, step) => {
      const { ctx } = step;
      const { image, plans, web, full, outputs } = run;
      const { sourcePath } = run.source;
      // QUALITY_SCORES: each variant scored against the source at its own size (off by default).
      const scorer = ctx.config.quality.scores ? createImageScorer(ctx) : undefined;
      let done = 0;
      await Promise.all(
        plans.map(async (plan) => {
          const buffer = await encode(plan, sourcePath, web, full, image);
          // Within the step: the variants encode in parallel, and an abort stops the rest before they score and upload.
          throwIfAborted(ctx.signal);
          const { info } = buffer;
          const quality = await scorer?.score(
            plan.source === "web"
              ? rawInput(web)
              : full
                ? rawInput(full)
                : openInput(sourcePath, image.maxPixels, false).autoOrient(),
            buffer.data,
          );
          outputs.push(
            withQuality(
              await ctx.output({
                name: plan.name,
                variant: plan.variant,
                body: { buffer: buffer.data },
                contentType: CONTENT_TYPE[plan.format],
                width: info.width,
                height: plan.animated ? (info.pageHeight ?? info.height) : info.height,
              }),
              quality,
            ),
          );
          done += 1;
          step.progress(20 + (70 * done) / plans.length, plan.variant);
        }),
      );
      step.record({ variants: outputs.length });
      if (scorer) ctx.step("quality-scored", qualityStepDetail(outputs));
    },
  },
  {
    name: "placeholder",
    run: async (run) => {
      const placeholderSource = sharp(run.web.data, { raw: run.web.info });
      [run.thumbhash, run.dominantColour] = await Promise.all([
        thumbHashOf(placeholderSource),
        dominantColourOf(placeholderSource),
      ]);
      run.outputs.sort(
        (a, b) =>
          run.plans.findIndex((p) => p.variant === a.variant) - run.plans.findIndex((p) => p.variant === b.variant),
      );
    },
  },
];

/** What happened to a source's animation; undefined for stills. */
interface AnimationOutcome {
  frames: number;
  /** Set when the outputs are stills although the source moves. */
  droppedReason?: string;
}

interface ReadableSource {
  /** What the job result says about the upload. */
  facts: ImageFacts;
  /** The file sharp decodes: the upload, a HEIC decoded to PNG, or an APNG turned into an animated WebP. */
  sourcePath: string;
  /** The facts the variants are planned from (an APNG plans as the animated WebP it became). */
  planFacts: ImageFacts;
  animation: AnimationOutcome | undefined;
}

/** An APNG's frames are composed by ffmpeg; a file that takes longer than this is hostile or broken. */
const APNG_CONVERT_TIMEOUT_MS = 120_000;

/**
 * The facts of the upload and a file sharp can decode. The header is read (and bombs refused)
 * before anything is decoded; a HEIC is then decoded by libheif into an upright PNG, whose
 * pixels describe the image while the HEIC's own EXIF still tells camera, date and GPS; an
 * APNG (which libvips reads as its first frame only) becomes an animated WebP.
 */
async function readableSource(ctx: ProcessContext, image: AppConfig["image"]): Promise<ReadableSource> {
  const original = await inspect(ctx.inputPath, image.maxPixels);
  ctx.step("inspected", {
    format: original.format,
    compression: original.compression,
    width: original.width,
    height: original.height,
    pages: original.pages,
  });
  if (original.format === "png") return apngSource(ctx, original, image);
  const animation = isAnimation(original) ? { frames: original.pages } : undefined;
  if (original.compression !== "hevc")
    return { facts: original, sourcePath: ctx.inputPath, planFacts: original, animation };
  const sourcePath = await decodeHeicToPng(ctx.inputPath, path.join(ctx.workDir, "heic-decoded.png"), ctx.signal);
  const decoded = await inspect(sourcePath, image.maxPixels);
  ctx.step("heic-decoded", { width: decoded.width, height: decoded.height });
  const facts = {
    ...decoded,
    format: original.format,
    compression: original.compression,
    pages: original.pages,
    exif: original.exif,
    hasIccProfile: original.hasIccProfile || decoded.hasIccProfile,
  };
  return { facts, sourcePath, planFacts: facts, animation: undefined };
}

/**
 * A PNG with an `acTL` chunk is an APNG. Within the pixel cap (all frames together, as for
 * GIF and WebP) its frames become an animated WebP that the variants are cut from; over it the
 * first frame is used and the job says why.
 */
async function apngSource(
  ctx: ProcessContext,
  original: ImageFacts,
  image: AppConfig["image"],
): Promise<ReadableSource> {
  const still: ReadableSource = {
    facts: original,
    sourcePath: ctx.inputPath,
    planFacts: original,
    animation: undefined,
  };
  const handle = await open(ctx.inputPath, "r");
  const head = Buffer.alloc(64 * 1024);
  const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
  const apng = apngAnimation(head.subarray(0, bytesRead));
  if (!apng || apng.frames <= 1) return still;
  const facts = { ...original, pages: apng.frames };
  if (original.width * original.height * Math.min(apng.frames, 1000) > image.maxPixels * 4 || apng.frames > 1000) {
    const droppedReason = `the ${apng.frames} frames of ${original.width}×${original.height} pixels are over the animation limit (MAX_IMAGE_PIXELS × 4 pixels, 1000 frames); the first frame is used`;
    ctx.step("animation-dropped", { reason: droppedReason });
    return { ...still, facts, planFacts: original, animation: { frames: apng.frames, droppedReason } };
  }
  const sourcePath = await convertApngToWebp({
    inputPath: ctx.inputPath,
    outputPath: path.join(ctx.workDir, "apng-frames.webp"),
    quality: image.webpQuality,
    loop: apng.plays,
    signal: ctx.signal,
    timeoutMs: APNG_CONVERT_TIMEOUT_MS,
  });
  const converted = await inspect(sourcePath, image.maxPixels);
  ctx.step("apng-converted", { frames: converted.pages });
  return {
    facts,
    sourcePath,
    planFacts: { ...converted, hasAlpha: original.hasAlpha },
    animation: { frames: apng.frames },
  };
}

/**
 * Never silent about motion: an animated source records its frame count and which variants
 * move (the optimized original and the WebP; thumbnails and AVIF are its first frame), or
 * `animationDropped` with the reason when every output is a still.
 */
function describeAnimation(
  animation: AnimationOutcome | undefined,
  plans: readonly VariantPlan[],
): Record<string, unknown> {
  if (!animation) return { animated: false };
  if (animation.droppedReason)
    return {
      animated: false,
      frames: animation.frames,
      animationDropped: true,
      animationDroppedReason: animation.droppedReason,
    };
  return {
    animated: true,
    frames: animation.frames,
    animatedVariants: plans.filter((plan) => plan.animated).map((plan) => plan.variant),
  };
}

function openInput(inputPath: string, maxPixels: number, animated: boolean): Sharp {
  // failOn "error" refuses truncated and corrupt data rather than emitting grey half-images.
  return sharp(inputPath, { limitInputPixels: maxPixels, failOn: "error", animated, sequentialRead: true });
}

/**
 * Reads only the header. A 539-byte JPEG can declare 65000×65000 pixels: refusing it here, on
 * the declared size, costs nothing, whereas decoding it costs ~40 s and 12 GB.
 */
async function inspect(inputPath: string, maxPixels: number): Promise<ImageFacts> {
  let metadata: Metadata;
  try {
    metadata = await sharp(inputPath, { limitInputPixels: false, failOn: "error" }).metadata();
  } catch (error) {
    throw processingError("image-unreadable", `the image header cannot be read: ${(error as Error).message}`, error);
  }
  if (!metadata.format || !ACCEPTED_FORMATS.has(metadata.format)) {
    throw processingError("unsupported-type", `image format ${metadata.format ?? "unknown"} is not supported`);
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  const pages = metadata.pages ?? 1;
  // Frames of an animation are all decoded; a multi-page still decodes one page.
  const decodedPages = isAnimation({ format: metadata.format, pages }) ? pages : 1;
  if (width <= 0 || height <= 0) throw processingError("image-unreadable", "the image declares no dimensions");
  if (width * height > maxPixels || width * height * Math.min(decodedPages, 1000) > maxPixels * 4) {
    throw processingError(
      "pixel-limit",
      `the image declares ${width}×${height}${pages > 1 ? `×${pages} frames` : ""} pixels, over MAX_IMAGE_PIXELS (${maxPixels})`,
      undefined,
      { width, height, pages },
    );
  }
  return describeImage(metadata, displayedSize(width, height, metadata.orientation));
}

interface RawImage {
  data: Buffer;
  /** Only the layout: see {@link rawLayout}. */
  info: { width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

/**
 * The layout sharp needs to read a raw buffer back. Never pass toBuffer's `info` itself as
 * `raw`: after a resize it says `premultiplied: true` although the buffer it describes holds
 * straight (unpremultiplied) alpha, and sharp then divides every colour by its alpha again:
 * a 25 %-opaque blue came out of every web variant as 150,255,255 (issue 20).
 */
function rawLayout(info: OutputInfo): RawImage["info"] {
  return { width: info.width, height: info.height, channels: info.channels as RawImage["info"]["channels"] };
}

function rawInput(image: RawImage): Sharp {
  return sharp(image.data, { raw: image.info });
}

/** The whole source, oriented, as raw pixels in its own colour space (the optimized original is cut from it, and the web decode). */
async function decodeFull(input: Sharp): Promise<RawImage> {
  try {
    const { data, info } = await input.autoOrient().raw().toBuffer({ resolveWithObject: true });
    return { data, info: rawLayout(info) };
  } catch (error) {
    throw decodeError(error);
  }
}

/** One shrink-on-load decode, oriented and in sRGB, that every web-sized variant is cut from. */
async function decodeForWeb(input: Sharp, webMaxDimension: number): Promise<RawImage> {
  try {
    const { data, info } = await input
      .autoOrient()
      .resize(webMaxDimension, webMaxDimension, { fit: "inside", withoutEnlargement: true })
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, info: rawLayout(info) };
  } catch (error) {
    throw decodeError(error);
  }
}

async function encode(
  plan: VariantPlan,
  inputPath: string,
  web: RawImage,
  full: RawImage | undefined,
  image: AppConfig["image"],
): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    let pipeline: Sharp;
    if (plan.source === "web") {
      pipeline = rawInput(web);
      const target = fitInside(web.info.width, web.info.height, plan.maxDimension);
      if (target.width !== web.info.width || target.height !== web.info.height)
        pipeline = pipeline.resize(target.width, target.height);
    } else if (full && !plan.animated) {
      // Already oriented; no ICC profile to keep (decodesOnce).
      pipeline = rawInput(full);
      if (plan.maxDimension !== undefined)
        pipeline = pipeline.resize(plan.maxDimension, plan.maxDimension, { fit: "inside", withoutEnlargement: true });
    } else {
      pipeline = openInput(inputPath, image.maxPixels, plan.animated).autoOrient();
      if (plan.maxDimension !== undefined)
        pipeline = pipeline.resize(plan.maxDimension, plan.maxDimension, { fit: "inside", withoutEnlargement: true });
      // The optimized original keeps its ICC profile (wide-gamut photos stay wide-gamut).
      if (plan.variant === "optimized") pipeline = pipeline.keepIccProfile();
    }
    switch (plan.format) {
      case "jpeg":
        pipeline = pipeline.jpeg({
          quality: image.jpegQuality,
          mozjpeg: true,
          progressive: true,
          chromaSubsampling: image.jpegChromaSubsampling,
        });
        break;
      case "png":
        pipeline = pipeline.png(pngOptions(plan.palette));
        break;
      case "webp":
        pipeline = pipeline.webp({ quality: image.webpQuality, effort: 4, smartSubsample: true });
        break;
      case "avif":
        pipeline = pipeline.avif({ quality: image.avifQuality, effort: image.avifEffort });
        break;
      case "gif":
        pipeline = pipeline.gif({ effort: 7 });
        break;
    }
    return await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(error);
  }
}

function decodeError(error: unknown): MediaError {
  if (error instanceof MediaError) return error;
  const message = (error as Error).message ?? String(error);
  if (/pixel limit/i.test(message)) return processingError("pixel-limit", message, error);
  return processingError("image-corrupt", `the image cannot be decoded: ${message}`, error);
}
