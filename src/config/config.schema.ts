import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { parseDurationMs } from "./duration.ts";

/**
 * Every environment variable the product reads, with its default and unit. `.env.example`
 * and the README's configuration table are generated from {@link ENV_DOCS}; keep them in step.
 */

const bool = (fallback: boolean) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallback;
      const normalised = value.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(normalised)) return true;
      if (["0", "false", "no", "off"].includes(normalised)) return false;
      ctx.addIssue({ code: "custom", message: `expected true/false, got "${value}"` });
      return z.NEVER;
    });

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    });

const duration = (fallbackMs: number, bareUnit: "ms" | "s", minMs: number, maxMs: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallbackMs;
      const parsed = parseDurationMs(value, bareUnit);
      if (parsed === undefined || parsed < minMs || parsed > maxMs) {
        ctx.addIssue({ code: "custom", message: `expected a duration (bare number in ${bareUnit}, or 30s/5m/2h) from ${minMs / 1000}s to ${maxMs / 1000}s, got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    });

const intList = (fallback: number[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const parts = value.split(",").map((part) => Number(part.trim()));
      if (parts.some((part) => !Number.isInteger(part) || part <= 0 || part > 16384)) {
        ctx.addIssue({ code: "custom", message: `expected a comma-separated list of positive integers, got "${value}"` });
        return z.NEVER;
      }
      return parts;
    });

const stringList = z
  .string()
  .optional()
  .transform((value) => (value ?? "").split(",").map((part) => part.trim()).filter(Boolean));

/** Comma-separated audio transcode targets, each from the supported set, no duplicates. */
const audioFormatList = (fallback: string[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      if (value.trim().toLowerCase() === "none") return [];
      const parts = value.split(",").map((part) => part.trim().toLowerCase()).filter(Boolean);
      const unknown = parts.filter((part) => !["mp3", "aac", "ogg"].includes(part));
      if (unknown.length > 0 || new Set(parts).size !== parts.length) {
        ctx.addIssue({ code: "custom", message: `expected a comma-separated list of mp3, aac, ogg without repeats (or "none"), got "${value}"` });
        return z.NEVER;
      }
      return parts;
    });

/** `#RRGGBB` or `#RRGGBBAA` (the `#` is optional). */
const hexColor = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const normalised = value.trim().replace(/^#/, "").toUpperCase();
      if (!/^([0-9A-F]{6}|[0-9A-F]{8})$/.test(normalised)) {
        ctx.addIssue({ code: "custom", message: `expected a colour as #RRGGBB or #RRGGBBAA, got "${value}"` });
        return z.NEVER;
      }
      return `#${normalised}`;
    });

/** One HLS rung: `height:videoBitrate:audioBitrate`, bitrates in kbit/s with an optional `k`/`M` suffix. */
export interface HlsRungSpec {
  height: number;
  videoKbps: number;
  audioKbps: number;
}

const parseKbps = (raw: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2]?.toLowerCase() === "m" ? 1000 : 1);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
};

/** `480:1400k:96k,720:2800k:128k,…`: heights strictly increasing, bitrates positive. */
const hlsRungList = (fallback: HlsRungSpec[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const rungs: HlsRungSpec[] = [];
      for (const part of value.split(",").map((entry) => entry.trim()).filter(Boolean)) {
        const [height, video, audio] = part.split(":");
        const rung = { height: Number(height), videoKbps: parseKbps(video ?? ""), audioKbps: parseKbps(audio ?? "") };
        if (!Number.isInteger(rung.height) || rung.height < 64 || rung.height > 4320 || rung.videoKbps === undefined || rung.audioKbps === undefined || rung.videoKbps > 200_000 || rung.audioKbps > 512) {
          ctx.addIssue({ code: "custom", message: `expected height:videoBitrate:audioBitrate (e.g. 720:2800k:128k), got "${part}"` });
          return z.NEVER;
        }
        rungs.push({ height: rung.height, videoKbps: rung.videoKbps, audioKbps: rung.audioKbps });
      }
      if (rungs.length === 0 || rungs.some((rung, index) => index > 0 && rung.height <= rungs[index - 1]!.height)) {
        ctx.addIssue({ code: "custom", message: `expected at least one rung, heights strictly increasing, got "${value}"` });
        return z.NEVER;
      }
      return rungs;
    });

const url = (message: string) => z.string({ error: message }).trim().url({ message });
/** arn:<partition>:sns:<region>:<12-digit account>:<name>, the name optionally `.fifo`. */
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$/;

const optionalUrl = z
  .string()
  .optional()
  .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
  .pipe(z.string().url().optional());

/** The raw env schema: names and defaults are the contract with .env.example, compose and Helm. */
export const envSchema = z.object({
  AWS_REGION: z.string().min(1).default("us-east-1"),
  AWS_ENDPOINT_URL: optionalUrl,
  AWS_S3_FORCE_PATH_STYLE: z.string().optional(),
  MEDIA_BUCKET: z.string({ error: "required: the bucket uploads arrive in (comma-separated for several)" }).min(3),
  OUTPUT_BUCKET: z.string().optional(),
  OUTPUT_SEGMENT: z.string().regex(/^[A-Za-z0-9._-]+$/).default("processed"),
  CDN_BASE_URL: optionalUrl,
  TENANT_KEY_PATTERN: z.string().default("tenants/{tenant}/users/{user}/media/"),
  MEDIA_PROCESSING_QUEUE_URL: url("required: the SQS queue URL the worker consumes"),
  MEDIA_DLQ_URL: optionalUrl,
  MEDIA_INTAKE_QUEUE_URL: optionalUrl,
  MEDIA_PROCESSING_TOPIC_ARN: z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
    .refine((value) => value === undefined || SNS_TOPIC_ARN.test(value), "expected an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>"),
  WEBHOOKS_ENABLED: bool(false),
  REDIS_URL: url("required: redis://host:port/db of the job store"),
  REDIS_KEY_PREFIX: z.string().default("mp:"),
  MEDIA_PROCESSOR_CONCURRENCY: int(2, 1, 64),
  MAX_PROCESSING_RETRIES: int(3, 1, 1000),
  PROCESSING_TIMEOUT: duration(15 * 60_000, "ms", 1_000, 12 * 3_600_000),
  SQS_VISIBILITY_TIMEOUT: duration(300_000, "s", 10_000, 12 * 3_600_000),
  SQS_HEARTBEAT_INTERVAL: duration(0, "s", 0, 12 * 3_600_000),
  SQS_BATCH_SIZE: int(10, 1, 10),
  SQS_WAIT_TIME_SECONDS: int(20, 0, 20),
  RETRY_BACKOFF_BASE: duration(30_000, "s", 0, 12 * 3_600_000),
  RETRY_BACKOFF_MAX: duration(900_000, "s", 0, 12 * 3_600_000),
  SHUTDOWN_GRACE_PERIOD: duration(25_000, "s", 0, 12 * 3_600_000),
  JOB_STATUS_TTL: duration(7 * 86_400_000, "s", 60_000, 365 * 86_400_000),
  JOB_LEASE_TTL: duration(0, "s", 0, 12 * 3_600_000),
  JOB_LEASE_RENEW_INTERVAL: duration(5_000, "s", 500, 3_600_000),
  JOB_SWEEP_INTERVAL: duration(60_000, "s", 1_000, 3_600_000),
  MAX_INPUT_BYTES: int(2 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
  TEMP_DIR: z.string().default(path.join(os.tmpdir(), "media-processor")),
  ENABLE_HLS_TRANSCODING: bool(true),
  VIDEO_HLS_RUNGS: hlsRungList([
    { height: 480, videoKbps: 1400, audioKbps: 96 },
    { height: 720, videoKbps: 2800, audioKbps: 128 },
    { height: 1080, videoKbps: 5000, audioKbps: 160 },
  ]),
  VIDEO_HLS_SEGMENT_SECONDS: int(6, 1, 30),
  VIDEO_KEYFRAME_INTERVAL_SECONDS: int(0, 0, 30),
  VIDEO_HLS_IFRAME_PLAYLISTS: bool(true),
  VIDEO_HLS_SEGMENT_FORMAT: z.enum(["mpegts", "fmp4"]).default("mpegts"),
  VIDEO_MAX_DURATION: duration(4 * 3_600_000, "s", 1_000, 48 * 3_600_000),
  VIDEO_MAX_PIXELS: int(7680 * 4320, 256, 1_000_000_000),
  VIDEO_MAX_FPS: int(60, 1, 240),
  VIDEO_X264_PRESET: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]).default("veryfast"),
  VIDEO_AUDIO_ONLY_RENDITION: bool(false),
  VIDEO_ADD_SILENT_AUDIO: bool(false),
  VIDEO_POSTER_POSITION_PERCENT: int(10, 0, 95),
  VIDEO_STORYBOARD: bool(false),
  VIDEO_HDR_TONE_MAP: bool(true),
  VIDEO_CONTENT_AWARE_LADDER: bool(false),
  VIDEO_CONTENT_PROBE_CRF: int(20, 10, 40),
  VIDEO_CONTENT_PROBE_SECONDS: int(6, 2, 60),
  MAX_IMAGE_PIXELS: int(100_000_000, 1, 1_000_000_000),
  IMAGE_THUMBNAIL_SIZES: intList([150, 600, 1200]),
  IMAGE_WEB_MAX_DIMENSION: int(2048, 16, 16384),
  IMAGE_JPEG_QUALITY: int(86, 1, 100),
  IMAGE_JPEG_CHROMA_SUBSAMPLING: z.enum(["4:4:4", "4:2:0"]).default("4:4:4"),
  IMAGE_WEBP_QUALITY: int(85, 1, 100),
  IMAGE_AVIF_QUALITY: int(70, 1, 100),
  IMAGE_AVIF_EFFORT: int(2, 0, 9),
  IMAGE_ENABLE_AVIF: bool(true),
  QUALITY_SCORES: bool(false),
  QUALITY_IMAGE_METRIC: z.enum(["ssim", "ssimulacra2"]).default("ssim"),
  QUALITY_SSIMULACRA2_PATH: z.string().trim().min(1).default("ssimulacra2_rs"),
  AUDIO_FORMATS: audioFormatList(["mp3", "aac", "ogg"]),
  AUDIO_MP3_BITRATE_KBPS: int(192, 32, 320),
  AUDIO_AAC_BITRATE_KBPS: int(160, 24, 320),
  AUDIO_OPUS_BITRATE_KBPS: int(96, 12, 256),
  AUDIO_MAX_DURATION: duration(4 * 3_600_000, "s", 1_000, 48 * 3_600_000),
  AUDIO_WAVEFORM_SAMPLES_PER_PIXEL: int(256, 2, 1_000_000),
  AUDIO_WAVEFORM_PIXELS_PER_SECOND: int(0, 0, 48_000),
  AUDIO_WAVEFORM_BITS: int(8, 8, 16).refine((bits) => bits === 8 || bits === 16, { message: "expected 8 or 16" }),
  AUDIO_WAVEFORM_SPLIT_CHANNELS: bool(false),
  AUDIO_WAVEFORM_WIDTH: int(1800, 16, 16384),
  AUDIO_WAVEFORM_HEIGHT: int(280, 8, 4096),
  AUDIO_WAVEFORM_COLOR: hexColor("#3A6EA5"),
  AUDIO_WAVEFORM_BACKGROUND_COLOR: hexColor("#FFFFFF"),
  AUDIO_COVER_MAX_DIMENSION: int(800, 16, 4096),
  DOCUMENT_THUMB_WIDTH: int(300, 16, 4096),
  DOCUMENT_PREVIEW_PAGES: int(3, 0, 100),
  DOCUMENT_PREVIEW_WIDTH: int(1024, 16, 4096),
  DOCUMENT_MAX_TEXT_PAGES: int(500, 0, 100_000),
  DOCUMENT_TIME_BUDGET: duration(120_000, "s", 1_000, 12 * 3_600_000),
  DOCUMENT_MAX_IMAGE_PIXELS: int(40_000_000, 1, 1_000_000_000),
  DOCUMENT_MAX_HEAP_MB: int(1024, 128, 65_536),
  DOCUMENT_ENABLE_LIBREOFFICE: bool(false),
  PROCESSOR_MODULES: stringList,
  METRICS_PORT: int(9464, 0, 65535),
  WORKER_ID: z.string().default(`${os.hostname()}-${process.pid}`),
  WORKER_HEARTBEAT_INTERVAL: duration(10_000, "s", 1_000, 3_600_000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type RawEnv = z.input<typeof envSchema>;

/** Human documentation of each variable, used for .env.example and the README table. */
export const ENV_DOCS: Record<keyof z.infer<typeof envSchema>, string> = {
  AWS_REGION: "AWS region of the bucket and queues.",
  AWS_ENDPOINT_URL: "Endpoint override for S3/SQS emulators (fauxqs, LocalStack). Unset on AWS.",
  AWS_S3_FORCE_PATH_STYLE: "Path-style S3 URLs. Default: true when AWS_ENDPOINT_URL is set.",
  MEDIA_BUCKET: "Bucket(s) uploads arrive in, comma-separated. Events for other buckets are dropped.",
  OUTPUT_BUCKET: "Bucket outputs are written to. Default: the source object's bucket.",
  OUTPUT_SEGMENT: "Key segment outputs live under; events for keys inside it are ignored.",
  CDN_BASE_URL: "Base URL outputs are served under (a CDN in front of the output bucket, e.g. https://cdn.example.com). Set on workers and the API alike: every output then carries its absolute `url` (`<base>/<key>`) in the manifest, the job record and job events, and item, playback and webhook URLs use it instead of presigned S3 URLs.",
  TENANT_KEY_PATTERN: "Key prefix pattern that fills tenantId/userId; `{tenant}` and `{user}` are placeholders.",
  MEDIA_PROCESSING_QUEUE_URL: "SQS queue receiving the bucket's ObjectCreated events.",
  MEDIA_DLQ_URL: "Dead-letter queue of the media queue (for queue-depth metrics and stats).",
  MEDIA_INTAKE_QUEUE_URL: "Optional intake queue: point the bucket's notifications here instead of at the media queue, and the API records every upload as a `queued` job the moment its event arrives (searchable and cancellable while it waits), then forwards the event to the media queue. Unset: jobs appear when a worker claims them (or when enqueued through the API).",
  WEBHOOKS_ENABLED: "Record every job event for webhook delivery (one Redis write per event; the API delivers them to WEBHOOK_ENDPOINTS). Set it on workers and the API together.",
  MEDIA_PROCESSING_TOPIC_ARN: "SNS topic that receives a JSON job event on every completed, failed or cancelled job (at least once; FIFO topics supported). Unset: no events.",
  REDIS_URL: "Redis holding job records and timelines.",
  REDIS_KEY_PREFIX: "Prefix of every Redis key, so several deployments can share one Redis.",
  MEDIA_PROCESSOR_CONCURRENCY: "Jobs processed at once per worker process.",
  MAX_PROCESSING_RETRIES: "Receives after which a transient failure is final; set the queue's maxReceiveCount to the same.",
  PROCESSING_TIMEOUT: "Per-job time limit; bare number in milliseconds, or 30s/15m/2h.",
  SQS_VISIBILITY_TIMEOUT: "Visibility timeout set on received messages; bare number in seconds.",
  SQS_HEARTBEAT_INTERVAL: "How often visibility is extended while a job runs; seconds. Default: a third of the visibility timeout.",
  SQS_BATCH_SIZE: "Maximum messages per ReceiveMessage call (1-10).",
  SQS_WAIT_TIME_SECONDS: "Long-poll wait of ReceiveMessage (0-20).",
  RETRY_BACKOFF_BASE: "First back-off delay after a transient failure; doubles per receive, with jitter; seconds.",
  RETRY_BACKOFF_MAX: "Cap on the back-off delay; seconds.",
  SHUTDOWN_GRACE_PERIOD: "On SIGTERM, how long in-flight jobs may finish before they are released; seconds.",
  JOB_STATUS_TTL: "How long a job record stays in Redis after its last change (then the sweep removes it with its index entries); bare number in seconds, or 7d.",
  JOB_LEASE_TTL: "How long a worker's claim on a job lives without renewal; seconds. Default: the visibility timeout.",
  JOB_LEASE_RENEW_INTERVAL: "How often a running job's lease is renewed and its durable cancel flag read, so a cancel reaches the worker within this time even if the pub/sub hint was lost; seconds, shorter than JOB_LEASE_TTL.",
  JOB_SWEEP_INTERVAL: "How often each worker and API process removes jobs older than JOB_STATUS_TTL with all their index entries (bounded batches); seconds.",
  MAX_INPUT_BYTES: "Largest upload processed; larger ones fail with `input-too-large`.",
  TEMP_DIR: "Where per-job temp dirs are created (mount a sized volume here).",
  ENABLE_HLS_TRANSCODING: "Video: HLS ladder when true, a single web MP4 when false.",
  VIDEO_HLS_RUNGS: "HLS ladder as height:videoBitrate:audioBitrate rungs (kbit/s, k/M suffix allowed), lowest first. A rung is a box of that height (16:9, turned for portrait); rungs above the source are dropped, never upscaled.",
  VIDEO_HLS_SEGMENT_SECONDS: "HLS segment length in seconds (Apple's HLS authoring spec recommends 6); a multiple of VIDEO_KEYFRAME_INTERVAL_SECONDS, so every segment starts with a keyframe at the same time in every rung.",
  VIDEO_KEYFRAME_INTERVAL_SECONDS: "Seconds between forced keyframes in every rung and the web MP4 (scene-cut keyframes are off). Default: 2 (Apple's recommendation; seeking and rung switches land within 2 s), or 1 when the segment length is odd; must divide VIDEO_HLS_SEGMENT_SECONDS.",
  VIDEO_HLS_IFRAME_PLAYLISTS: "Write an I-frame playlist per rung (EXT-X-I-FRAME-STREAM-INF in the master: one keyframe per VIDEO_KEYFRAME_INTERVAL_SECONDS as a byte range of its segment) for scrubbing and fast-forward; TS segments only.",
  VIDEO_HLS_SEGMENT_FORMAT: "HLS segments as `mpegts` (.ts, widest player support) or `fmp4` (init.mp4 + .m4s).",
  VIDEO_MAX_DURATION: "Longest video processed; longer ones fail with `video-too-long` before encoding; bare number in seconds, or 90m/4h.",
  VIDEO_MAX_PIXELS: "Largest video frame (width x height) processed; larger ones fail with `video-too-large` before encoding. Default 8K.",
  VIDEO_MAX_FPS: "Frame rate cap of the encoded outputs; faster sources (slow-motion phone video) are reduced to it.",
  VIDEO_X264_PRESET: "libx264 preset of the ladder and web MP4: veryfast costs ~1.5 cpu-s per second of 1080p30; slower presets give smaller files for more CPU.",
  VIDEO_AUDIO_ONLY_RENDITION: "Add an audio-only AAC rendition to the HLS master playlist.",
  VIDEO_ADD_SILENT_AUDIO: "Give videos without audio a silent AAC track (some players expect one); when false they stay silent-less.",
  VIDEO_POSTER_POSITION_PERCENT: "Where the poster frame is taken, in percent of the duration (the first non-black frame from there on).",
  VIDEO_STORYBOARD: "Also write a storyboard sprite JPEG and a WebVTT file for scrubbing previews.",
  VIDEO_HDR_TONE_MAP: "Tone-map HDR sources (PQ/HDR10 and HLG, e.g. iPhone and Android HDR video) to SDR BT.709 for renditions, poster and storyboard; when false they are encoded as they are and look washed out. Adds about 60 % CPU to an HDR job (~0.8 cpu-s per second of 1080p30), done once at the top rung's size.",
  VIDEO_CONTENT_AWARE_LADDER: "HLS: fit each rung to the content. A probe encode of VIDEO_CONTENT_PROBE_SECONDS sampled across the clip at VIDEO_CONTENT_PROBE_CRF measures what the content needs per rung; each rung is then encoded at that CRF, capped at 1.5x the probe's bitrate and never above its VIDEO_HLS_RUNGS bitrate. Easy content (talking heads, animation, screen recordings) gets a fraction of the bits; hard content gets what the fixed ladder gives. Off by default.",
  VIDEO_CONTENT_PROBE_CRF: "x264 CRF of the content-aware probe and rungs (lower = better quality, more bits; see the README's quality section).",
  VIDEO_CONTENT_PROBE_SECONDS: "Seconds of video the content-aware probe encodes, in three windows spread across the clip (the whole clip when shorter).",
  MAX_IMAGE_PIXELS: "Images declaring more pixels are refused before decoding (decompression bombs).",
  IMAGE_THUMBNAIL_SIZES: "Thumbnail bounding boxes small,medium,large in pixels.",
  IMAGE_WEB_MAX_DIMENSION: "Longest side of the WebP and AVIF web variants.",
  IMAGE_JPEG_QUALITY: "mozjpeg quality of the optimized JPEG (also video posters and audio cover art). 86 with 4:4:4 chroma is the fewest bytes reaching SSIMULACRA2 ≥ 75 on every input of npm run bench's quality area (README, quality section).",
  IMAGE_JPEG_CHROMA_SUBSAMPLING: "Chroma subsampling of the optimized JPEG: `4:4:4` keeps colour edges (text, UI, graphics) sharp and reached the quality target at fewer bytes than `4:2:0` at a higher quality; `4:2:0` for the smallest files.",
  IMAGE_WEBP_QUALITY: "WebP quality of thumbnails, the web WebP and document previews: 85 is the lowest meeting SSIMULACRA2 ≥ 70 on every input (README, quality section).",
  IMAGE_AVIF_QUALITY: "AVIF quality of the web AVIF: 70 is the lowest meeting SSIMULACRA2 ≥ 70 on every input at effort 2 (README, quality section).",
  IMAGE_AVIF_EFFORT: "AVIF CPU effort 0-9: at the quality target effort 4 made files of the same size as effort 2 (0.3 % smaller) for about 10x the CPU, so 2.",
  IMAGE_ENABLE_AVIF: "Produce the AVIF variant.",
  QUALITY_SCORES: "Score every image variant and video rendition against its source at the output size and store the score with the output in the job result and manifest (`quality`), so bad encodes can be spotted. Off by default: it decodes source and outputs again (images: about as much CPU as the encodes with SSIM; video: one more decode of the source and every rung).",
  QUALITY_IMAGE_METRIC: "Image score with QUALITY_SCORES: `ssim` (SSIM and PSNR by ffmpeg, always available) or `ssimulacra2` (needs `ssimulacra2_rs`, see scripts/install-quality-tools.sh). Video is always scored with ffmpeg's SSIM and PSNR.",
  QUALITY_SSIMULACRA2_PATH: "The ssimulacra2_rs executable (name on PATH or absolute path) used when QUALITY_IMAGE_METRIC=ssimulacra2.",
  AUDIO_FORMATS: "Audio transcodes to produce, comma-separated from mp3 (libmp3lame), aac (AAC in M4A), ogg (Opus in Ogg); `none` for waveform and tags only.",
  AUDIO_MP3_BITRATE_KBPS: "MP3 bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  AUDIO_AAC_BITRATE_KBPS: "AAC bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  AUDIO_OPUS_BITRATE_KBPS: "Opus bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  AUDIO_MAX_DURATION: "Longest audio processed; longer files fail with `audio-too-long`; bare number in seconds, or 90m/4h.",
  AUDIO_WAVEFORM_SAMPLES_PER_PIXEL: "Waveform data zoom: audio samples per min/max pair (audiowaveform's --zoom; 256 is its default).",
  AUDIO_WAVEFORM_PIXELS_PER_SECOND: "Waveform data zoom as min/max pairs per second of audio; when above 0 it replaces AUDIO_WAVEFORM_SAMPLES_PER_PIXEL.",
  AUDIO_WAVEFORM_BITS: "Resolution of waveform data values: 8 (-128..127) or 16 (-32768..32767).",
  AUDIO_WAVEFORM_SPLIT_CHANNELS: "Waveform data per channel when true; a mono mix-down when false.",
  AUDIO_WAVEFORM_WIDTH: "Width of the waveform PNG in pixels.",
  AUDIO_WAVEFORM_HEIGHT: "Height of the waveform PNG in pixels.",
  AUDIO_WAVEFORM_COLOR: "Waveform colour of the PNG, #RRGGBB or #RRGGBBAA.",
  AUDIO_WAVEFORM_BACKGROUND_COLOR: "Background colour of the PNG, #RRGGBB or #RRGGBBAA (alpha 00 for transparent).",
  AUDIO_COVER_MAX_DIMENSION: "Longest side in pixels of the `_cover.jpg` extracted from embedded cover art.",
  DOCUMENT_THUMB_WIDTH: "Width in pixels of the page-1 `_thumb.webp` of a PDF.",
  DOCUMENT_PREVIEW_PAGES: "How many leading pages get a `_page_<n>.webp` preview (0 for none).",
  DOCUMENT_PREVIEW_WIDTH: "Width in pixels of the page previews; pages taller than 4x this width are fitted by height instead.",
  DOCUMENT_MAX_TEXT_PAGES: "Pages whose text is extracted to `_text.txt`; later pages are counted but not read (metadata says so).",
  DOCUMENT_TIME_BUDGET: "Time one document may take (conversion, rendering and text together); the pdf.js process is killed at the limit; bare number in seconds, or 2m.",
  DOCUMENT_MAX_IMAGE_PIXELS: "Images embedded in a PDF declaring more pixels are skipped when rendering (image bombs).",
  DOCUMENT_MAX_HEAP_MB: "JavaScript heap limit in MiB of the child process that runs pdf.js; a document that needs more fails with `document-out-of-memory`.",
  DOCUMENT_ENABLE_LIBREOFFICE: "Convert Office/OpenDocument files to PDF with LibreOffice (`soffice` must be on PATH). Off by default: LibreOffice is large and parses hostile input with far more code than pdf.js; run it only in a sandboxed container.",
  PROCESSOR_MODULES: "Comma-separated module paths of custom processors, tried before the built-ins.",
  METRICS_PORT: "Port of /metrics, /healthz and /readyz (0 picks a free port).",
  WORKER_ID: "Name of this worker in job timelines and logs. Default: hostname-pid.",
  WORKER_HEARTBEAT_INTERVAL: "How often a worker announces itself in Redis (it counts as dead after three missed beats); seconds.",
  LOG_LEVEL: "pino log level.",
};

/** One scoped API token (API_TOKENS); `sha256` is the hex digest of the token itself. */
export interface ApiTokenSpec {
  id: string;
  scope: "read" | "operate" | "admin";
  tenant: string | undefined;
  sha256: string;
}

/** `id:scope[@tenant]:token` entries; ids and tenants without `:` `,` `@`, tokens of 16+ printable characters or `sha256=<64 hex>`. */
const apiTokenList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const specs: ApiTokenSpec[] = [];
    for (const raw of (value ?? "").split(",").map((part) => part.trim()).filter(Boolean)) {
      const match = /^([A-Za-z0-9._-]{1,64}):(read|operate|admin)(?:@([^:,@\s]{1,256}))?:([\x21-\x7e]+)$/.exec(raw);
      const secret = match?.[4] ?? "";
      const hashed = /^sha256=([0-9a-f]{64})$/i.exec(secret);
      if (!match || (!hashed && (secret.length < 16 || secret.includes(",")))) {
        ctx.addIssue({ code: "custom", message: `expected id:scope[@tenant]:token (scope read/operate/admin, token at least 16 characters or sha256=<hex>), got an entry with id "${raw.split(":")[0] ?? ""}"` });
        return z.NEVER;
      }
      if (specs.some((spec) => spec.id === match[1])) {
        ctx.addIssue({ code: "custom", message: `token id "${match[1]}" appears twice` });
        return z.NEVER;
      }
      specs.push({
        id: match[1]!,
        scope: match[2] as ApiTokenSpec["scope"],
        tenant: match[3],
        sha256: hashed ? hashed[1]!.toLowerCase() : createHash("sha256").update(secret).digest("hex"),
      });
    }
    return specs;
  });

/** One webhook receiver (WEBHOOK_ENDPOINTS); its URL is checked against the SSRF rules by loadApiConfig. */
export interface WebhookEndpointSpec {
  id: string;
  url: string;
  secrets: string[];
  tenant?: string | undefined;
  events?: string[] | undefined;
}

const webhookEndpointList = z
  .string()
  .optional()
  .transform((value, ctx): WebhookEndpointSpec[] => {
    if (!value || value.trim() === "") return [];
    let raw: unknown;
    try {
      raw = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected a JSON array of {id, url, secrets[, tenant, events]}" });
      return z.NEVER;
    }
    const parsed = z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
            url: z.string().url(),
            secrets: z.array(z.string().min(16)).min(1).max(2),
            tenant: z.string().min(1).max(256).optional(),
            events: z.array(z.enum(["media.job.completed", "media.job.failed", "media.job.cancelled"])).min(1).optional(),
          })
          .strict(),
      )
      .safeParse(raw);
    if (!parsed.success) {
      // Never echo the value: it holds secrets.
      ctx.addIssue({ code: "custom", message: `invalid: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}` });
      return z.NEVER;
    }
    const ids = parsed.data.map((endpoint) => endpoint.id);
    if (new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: "custom", message: "endpoint ids must be unique" });
      return z.NEVER;
    }
    return parsed.data;
  });

/**
 * DELIVERY_SIGNING_KEYS: one key, or two during a rotation (the first signs, both verify). 32
 * characters at least: an HMAC key shorter than its 256-bit output only weakens it, and
 * `openssl rand -base64 32` gives 44.
 */
const deliverySigningKeys = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const keys = (value ?? "").split(",").map((part) => part.trim()).filter(Boolean);
    // Never echo the value: it holds secrets.
    if (keys.length > 2) ctx.addIssue({ code: "custom", message: `expected one key, or two while rotating (the new one first), got ${keys.length}` });
    else if (keys.some((key) => key.length < 32)) ctx.addIssue({ code: "custom", message: "expected keys of at least 32 characters (e.g. openssl rand -base64 32)" });
    else if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", message: "the two keys are the same" });
    else return keys;
    return z.NEVER;
  });

/**
 * Variables only the API role reads (`api` and `all` commands). They extend the shared schema
 * rather than joining it, so the worker never validates them and starts without an API_TOKEN;
 * `loadApiConfig` (config.ts) checks them in the API's composition root.
 */
export const apiEnvSchema = envSchema.extend({
  API_PORT: int(8080, 0, 65535),
  API_TOKEN: z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
    // Short tokens can be guessed online; 16 characters is the floor, `openssl rand -hex 32` the habit.
    .pipe(z.string().min(16, { message: "expected at least 16 characters (e.g. openssl rand -hex 32)" }).optional()),
  API_INSECURE_NO_AUTH: bool(false),
  API_BODY_LIMIT_BYTES: int(256 * 1024, 1024, 16 * 1024 * 1024),
  API_PRESIGN_EXPIRY: duration(15 * 60_000, "s", 60_000, 7 * 86_400_000),
  API_TOKENS: apiTokenList,
  API_STATS_CACHE: duration(2_000, "s", 0, 60_000),
  API_QUEUE_DEPTH_INTERVAL: duration(5_000, "s", 100, 300_000),
  API_PUBLIC_S3_ENDPOINT: optionalUrl,
  API_UPLOAD_EXPIRY: duration(15 * 60_000, "s", 60_000, 7 * 86_400_000),
  API_UPLOAD_NOTIFICATIONS: bool(false),
  API_PLAYBACK_PUBLIC: bool(false),
  DELIVERY_SIGNING_KEYS: deliverySigningKeys,
  DELIVERY_URL_TTL: duration(3_600_000, "s", 10_000, 7 * 86_400_000),
  WEBHOOK_ENDPOINTS: webhookEndpointList,
  WEBHOOK_ALLOW_HTTP: bool(false),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: bool(false),
  WEBHOOK_RETRY_BASE: duration(30_000, "s", 10, 3_600_000),
  WEBHOOK_RETRY_WINDOW: duration(24 * 3_600_000, "s", 24 * 3_600_000, 30 * 86_400_000),
  WEBHOOK_TIMEOUT: duration(10_000, "s", 100, 60_000),
  WEBHOOK_POLL_INTERVAL: duration(1_000, "s", 10, 60_000),
});

/** Documentation of the API-only variables, in the style of {@link ENV_DOCS}. */
export const API_ENV_DOCS: Record<Exclude<keyof z.infer<typeof apiEnvSchema>, keyof z.infer<typeof envSchema>>, string> = {
  API_PORT: "Port of the job API, the dashboard at / and the API's /healthz, /readyz and /metrics (0 picks a free port).",
  API_TOKEN: "Bearer token required on everything under /api (at least 16 characters). The API refuses to start without one unless API_INSECURE_NO_AUTH=true.",
  API_INSECURE_NO_AUTH: "Serve /api without a token. Only for a laptop or behind an authenticating proxy.",
  API_BODY_LIMIT_BYTES: "Largest request body the API reads; larger ones get 413.",
  API_PRESIGN_EXPIRY: "Lifetime of the presigned output URLs the dashboard previews use; bare number in seconds, or 15m.",
  API_TOKENS: "Scoped bearer tokens, comma-separated `id:scope:token` or `id:scope@tenant:token` (scope read, operate or admin; `@tenant` limits the token to one tenant's jobs); the token part may be `sha256=<hex>` so only its hash is configured. The id (never the token) is recorded on every change a token makes. API_TOKEN, when set, is one more admin token with id `api-token`.",
  API_STATS_CACHE: "How long one stats answer is shared by every caller (concurrent callers wait for the one read in flight); seconds, 0 to compute each time.",
  API_QUEUE_DEPTH_INTERVAL: "How often the API reads the depths of the media, dead-letter and intake queues for stats and the console (in the background: no request waits on SQS); seconds.",
  API_UPLOAD_EXPIRY: "Lifetime of the upload URLs POST /api/media/uploads hands out (presigned POST policy, PUT, multipart part URLs); bare number in seconds, or 15m.",
  API_UPLOAD_NOTIFICATIONS: "The upload bucket sends S3 event notifications to the media queue. Then POST /api/media/uploads/confirm enqueues nothing itself (the notification does; one upload, one job) unless the object has a versionId, which gives both the same job id. Off (the default): the confirm is the only enqueue, so nothing is lost on a bucket without notifications.",
  API_PLAYBACK_PUBLIC: "Serve GET /api/media/item/playback, /api/media/item/output and /api/media/item/stream without a token (keys are unguessable: the server builds them with a random part). Off: they need a read token like every /api route. With DELIVERY_SIGNING_KEYS set, tokenless requests need a valid signature instead.",
  DELIVERY_SIGNING_KEYS: "Signed delivery: comma-separated HMAC-SHA256 keys (at least 32 characters; two while rotating, the new one first: the first signs, both verify). Set: item, playback and output URLs carry `expires` and `sig`, playlists served by the stream route sign every URI inside, and the playback, output and stream routes answer a tokenless request only with a valid, unexpired signature (403 otherwise). Unset: URLs are unsigned and access is as API_PLAYBACK_PUBLIC says.",
  DELIVERY_URL_TTL: "Lifetime of the signed URLs handed out with DELIVERY_SIGNING_KEYS; URIs inside a playlist expire with the playlist's own URL, so make it longer than your longest video is watched. Bare number in seconds, or 1h.",
  WEBHOOK_ENDPOINTS: "Webhook receivers as JSON: `[{\"id\":\"app\",\"url\":\"https://app.example.com/hooks/media\",\"secrets\":[\"<new>\",\"<old>\"],\"tenant\":\"t1\",\"events\":[\"media.job.completed\"]}]` (tenant and events optional; every secret signs, so two rotate without downtime; secrets at least 16 characters). Needs WEBHOOKS_ENABLED.",
  WEBHOOK_ALLOW_HTTP: "Allow http:// webhook URLs (default https only).",
  WEBHOOK_ALLOW_PRIVATE_TARGETS: "Allow webhook targets on loopback, private, link-local (cloud metadata) and other non-public addresses. Off: such URLs are refused at startup and names resolving to them at delivery.",
  WEBHOOK_RETRY_BASE: "First retry delay of a failed webhook delivery; each further one doubles (at most 1 h, ±20 % jitter); seconds.",
  WEBHOOK_RETRY_WINDOW: "How long a webhook delivery is retried after its event before it is marked failed (replayable from the API); at least 24 h.",
  WEBHOOK_TIMEOUT: "Time a webhook receiver has to answer one delivery; seconds.",
  WEBHOOK_POLL_INTERVAL: "How often the API looks for recorded events and due webhook deliveries; seconds.",
  API_PUBLIC_S3_ENDPOINT: "S3 endpoint as a browser reaches it, used to presign preview URLs and in the dashboard's content policy (docker-compose: http://localhost:4566, where AWS_ENDPOINT_URL names the internal emulator host). Unset: AWS_ENDPOINT_URL, or AWS itself.",
};
