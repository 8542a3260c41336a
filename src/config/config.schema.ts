import os from "node:os";
import path from "node:path";
import { z } from "zod";
import {
  bool,
  custom,
  defineVar,
  derivedBool,
  docsOf,
  duration,
  enumOf,
  int,
  optionalString,
  optionalUrl,
  requiredString,
  requiredUrl,
  schemaOf,
  string,
  type VarSpec,
} from "./define-var.ts";
import { SQS_MAX_VISIBILITY_SEC } from "./sqs-limits.ts";
import {
  apiTokenList,
  audioFormatList,
  deliverySigningKeys,
  hexColor,
  hlsRungList,
  intList,
  laneDefinitions,
  laneIntMap,
  laneLookaheadMap,
  laneNewcomerSlotsMap,
  laneUrlMap,
  stringList,
  webhookEndpointList,
} from "./env-parsers.ts";

export type { ApiTokenSpec, AudioFormat, HlsRungSpec, WebhookEndpointSpec } from "./env-parsers.ts";

/**
 * Every environment variable the product reads, declared once: group, parser (type, range,
 * default, the unit of a bare number) and a one-line doc. The zod schemas, ENV_DOCS, the typed
 * values loadConfig maps (config.ts), `.env.example` and the README table (scripts/env-docs.ts)
 * all come from these declarations. Names and defaults are the contract with compose and Helm.
 */

export { SQS_MAX_VISIBILITY_SEC };
/** Bounds of the SQS-bound durations, in the form a declaration writes them. */
const SQS_LIMIT = `${SQS_MAX_VISIBILITY_SEC}s`;

/** arn:<partition>:sns:<region>:<12-digit account>:<name>, the name optionally `.fifo`. */
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,251}(\.fifo)?$/;

/** The bucket .env.example names, and the one the emulator creates unless MEDIA_BUCKET says otherwise. */
const EXAMPLE_BUCKET = "media-uploads";

/** Variables every role reads (worker, API, `all`). */
export const WORKER_VARS = {
  AWS_REGION: defineVar(
    "aws",
    custom(z.string().min(1).default("us-east-1"), "us-east-1"),
    "AWS region of the bucket and queues.",
  ),
  AWS_ENDPOINT_URL: defineVar(
    "aws",
    optionalUrl(),
    "Endpoint override for S3/SQS emulators (fauxqs, LocalStack). Unset on AWS.",
  ),
  AWS_S3_FORCE_PATH_STYLE: defineVar("aws", derivedBool("true when AWS_ENDPOINT_URL is set"), "Path-style S3 URLs."),
  MEDIA_BUCKET: defineVar(
    "storage",
    requiredString("required: the bucket uploads arrive in (comma-separated for several)", 3),
    "Bucket(s) uploads arrive in, comma-separated. Events for other buckets are dropped.",
    { example: EXAMPLE_BUCKET },
  ),
  OUTPUT_BUCKET: defineVar("storage", optionalString("the source object's bucket"), "Bucket outputs are written to."),
  OUTPUT_SEGMENT: defineVar(
    "storage",
    custom(
      z
        .string()
        .regex(/^[A-Za-z0-9._-]+$/)
        .default("processed"),
      "processed",
    ),
    "Key segment outputs live under; events for keys inside it are ignored.",
  ),
  CDN_BASE_URL: defineVar(
    "storage",
    optionalUrl(),
    "Base URL outputs are served under (a CDN in front of the output bucket, e.g. https://cdn.example.com). Set on workers and the API alike: every output then carries its absolute `url` (`<base>/<key>`) in the manifest, the job record and job events, and item, playback and webhook URLs use it instead of presigned S3 URLs.",
  ),
  TENANT_KEY_PATTERN: defineVar(
    "storage",
    string("tenants/{tenant}/users/{user}/media/"),
    "Key prefix pattern that fills tenantId/userId; `{tenant}` and `{user}` are placeholders.",
  ),
  MEDIA_PROCESSING_QUEUE_URL: defineVar(
    "queue",
    requiredUrl("required: the SQS queue URL the worker consumes"),
    "SQS queue receiving the bucket's ObjectCreated events.",
    { example: "https://sqs.us-east-1.amazonaws.com/123456789012/media-processing" },
  ),
  MEDIA_DLQ_URL: defineVar(
    "queue",
    optionalUrl(),
    "Dead-letter queue of the media queue (for queue-depth metrics and stats).",
    { example: "https://sqs.us-east-1.amazonaws.com/123456789012/media-processing-dlq" },
  ),
  MEDIA_INTAKE_QUEUE_URL: defineVar(
    "queue",
    optionalUrl(),
    "Optional intake queue: point the bucket's notifications here instead of at the media queue, and the API records every upload as a `queued` job the moment its event arrives (searchable and cancellable while it waits), then forwards the event to the media queue. Unset: jobs appear when a worker claims them (or when enqueued through the API).",
  ),
  MEDIA_PROCESSING_TOPIC_ARN: defineVar(
    "job-events",
    custom(
      z
        .string()
        .optional()
        .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
        .refine(
          (value) => value === undefined || SNS_TOPIC_ARN.test(value),
          "expected an SNS topic ARN, arn:aws:sns:<region>:<account>:<topic>",
        ),
      undefined,
    ),
    "SNS topic that receives a JSON job event on every completed, failed or cancelled job (at least once; FIFO topics supported). Unset: no job events.",
  ),
  WEBHOOKS_ENABLED: defineVar(
    "job-events",
    bool(false),
    "Record every job event for webhook delivery (one Redis write per event; the API delivers them to WEBHOOK_ENDPOINTS). Set it on workers and the API together.",
  ),
  REDIS_URL: defineVar(
    "redis",
    requiredUrl("required: redis://host:port/db of the job store"),
    "Redis holding job records and timelines.",
    { example: "redis://localhost:6379/0" },
  ),
  REDIS_KEY_PREFIX: defineVar(
    "redis",
    string("mp:"),
    "Prefix of every Redis key, so several deployments can share one Redis.",
  ),
  MEDIA_PROCESSOR_CONCURRENCY: defineVar("queue", int(2, 1, 64), "Jobs processed at once per worker process."),
  MAX_PROCESSING_RETRIES: defineVar(
    "queue",
    int(3, 1, 1000),
    "Receives after which a transient failure is final; set the queue's maxReceiveCount to the same.",
  ),
  PROCESSING_TIMEOUT: defineVar(
    "jobs",
    duration("15m", "ms", "1s", SQS_LIMIT),
    "Per-job time limit; bare number in milliseconds, or 30s/15m/2h.",
  ),
  SQS_VISIBILITY_TIMEOUT: defineVar(
    "queue",
    duration("5m", "s", "10s", SQS_LIMIT),
    "Visibility timeout set on received messages; bare number in seconds.",
  ),
  SQS_HEARTBEAT_INTERVAL: defineVar(
    "queue",
    duration("0", "s", "0", SQS_LIMIT),
    "How often visibility is extended while a job runs; seconds.",
    { defaultText: "a third of SQS_VISIBILITY_TIMEOUT" },
  ),
  SQS_BATCH_SIZE: defineVar("queue", int(10, 1, 10), "Maximum messages per ReceiveMessage call (1-10)."),
  SQS_WAIT_TIME_SECONDS: defineVar("queue", int(20, 0, 20, "s"), "Long-poll wait of ReceiveMessage (0-20)."),
  RETRY_BACKOFF_BASE: defineVar(
    "queue",
    duration("30s", "s", "0", SQS_LIMIT),
    "First back-off delay after a transient failure; doubles per receive, with jitter; seconds.",
  ),
  RETRY_BACKOFF_MAX: defineVar("queue", duration("15m", "s", "0", SQS_LIMIT), "Cap on the back-off delay; seconds."),
  SHUTDOWN_GRACE_PERIOD: defineVar(
    "queue",
    duration("25s", "s", "0", SQS_LIMIT),
    "On SIGTERM, how long in-flight jobs may finish before they are released; seconds.",
  ),
  JOB_STATUS_TTL: defineVar(
    "jobs",
    duration("7d", "s", "1m", "365d"),
    "How long a job record stays in Redis after its last change (then the sweep removes it with its index entries); bare number in seconds, or 7d.",
  ),
  JOB_LEASE_TTL: defineVar(
    "jobs",
    duration("0", "s", "0", SQS_LIMIT),
    "How long a worker's claim on a job lives without renewal; seconds.",
    { defaultText: "SQS_VISIBILITY_TIMEOUT" },
  ),
  JOB_LEASE_RENEW_INTERVAL: defineVar(
    "jobs",
    duration("5s", "s", "500ms", "1h"),
    "How often a running job's lease is renewed and its durable cancel flag read, so a cancel reaches the worker within this time even if the pub/sub hint was lost; seconds, shorter than JOB_LEASE_TTL.",
  ),
  JOB_SWEEP_INTERVAL: defineVar(
    "jobs",
    duration("1m", "s", "1s", "1h"),
    "How often each worker and API process removes jobs older than JOB_STATUS_TTL with all their index entries (bounded batches); seconds.",
  ),
  MAX_INPUT_BYTES: defineVar(
    "storage",
    int(2 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER, "bytes"),
    "Largest upload processed; larger ones fail with `input-too-large`.",
  ),
  TEMP_DIR: defineVar(
    "storage",
    custom(z.string().default(path.join(os.tmpdir(), "media-processor")), undefined),
    "Where per-job temp dirs are created (mount a sized volume here).",
    { defaultText: "<os tmpdir>/media-processor" },
  ),
  ENABLE_HLS_TRANSCODING: defineVar("video", bool(true), "Video: HLS ladder when true, a single web MP4 when false."),
  VIDEO_HLS_RUNGS: defineVar(
    "video",
    custom(
      hlsRungList([
        { height: 480, videoKbps: 1400, audioKbps: 96 },
        { height: 720, videoKbps: 2800, audioKbps: 128 },
        { height: 1080, videoKbps: 5000, audioKbps: 160 },
      ]),
      "480:1400k:96k,720:2800k:128k,1080:5000k:160k",
      "kbit/s",
    ),
    "HLS ladder as height:videoBitrate:audioBitrate rungs (kbit/s, k/M suffix allowed), lowest first. A rung is a box of that height (16:9, turned for portrait); rungs above the source are dropped, never upscaled.",
  ),
  VIDEO_HLS_SEGMENT_SECONDS: defineVar(
    "video",
    int(6, 1, 30, "s"),
    "HLS segment length in seconds (Apple's HLS authoring spec recommends 6); a multiple of VIDEO_KEYFRAME_INTERVAL_SECONDS, so every segment starts with a keyframe at the same time in every rung.",
  ),
  VIDEO_KEYFRAME_INTERVAL_SECONDS: defineVar(
    "video",
    int(0, 0, 30, "s"),
    "Seconds between forced keyframes in every rung and the web MP4 (scene-cut keyframes are off). Default: 2 (Apple's recommendation; seeking and rung switches land within 2 s), or 1 when the segment length is odd; must divide VIDEO_HLS_SEGMENT_SECONDS.",
    { defaultText: "2, or 1 for an odd VIDEO_HLS_SEGMENT_SECONDS" },
  ),
  VIDEO_HLS_IFRAME_PLAYLISTS: defineVar(
    "video",
    bool(true),
    "Write an I-frame playlist per rung (EXT-X-I-FRAME-STREAM-INF in the master: one keyframe per VIDEO_KEYFRAME_INTERVAL_SECONDS as a byte range of its segment) for scrubbing and fast-forward; TS segments only.",
  ),
  VIDEO_HLS_SEGMENT_FORMAT: defineVar(
    "video",
    enumOf(["mpegts", "fmp4"], "mpegts"),
    "HLS segments as `mpegts` (.ts, widest player support) or `fmp4` (init.mp4 + .m4s).",
  ),
  VIDEO_MAX_DURATION: defineVar(
    "video",
    duration("4h", "s", "1s", "48h"),
    "Longest video processed; longer ones fail with `video-too-long` before encoding; bare number in seconds, or 90m/4h.",
  ),
  VIDEO_MAX_PIXELS: defineVar(
    "video",
    int(7680 * 4320, 256, 1_000_000_000, "pixels"),
    "Largest video frame (width x height) processed; larger ones fail with `video-too-large` before encoding. Default 8K.",
  ),
  VIDEO_MAX_FPS: defineVar(
    "video",
    int(60, 1, 240, "fps"),
    "Frame rate cap of the encoded outputs; faster sources (slow-motion phone video) are reduced to it.",
  ),
  VIDEO_X264_PRESET: defineVar(
    "video",
    enumOf(
      ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"],
      "veryfast",
    ),
    "libx264 preset of the ladder and web MP4: veryfast costs ~1.5 cpu-s per second of 1080p30; slower presets give smaller files for more CPU.",
  ),
  VIDEO_AUDIO_ONLY_RENDITION: defineVar(
    "video",
    bool(false),
    "Add an audio-only AAC rendition to the HLS master playlist.",
  ),
  VIDEO_ADD_SILENT_AUDIO: defineVar(
    "video",
    bool(false),
    "Give videos without audio a silent AAC track (some players expect one); when false they stay silent-less.",
  ),
  VIDEO_POSTER_POSITION_PERCENT: defineVar(
    "video",
    int(10, 0, 95, "%"),
    "Where the poster frame is taken, in percent of the duration (the first non-black frame from there on).",
  ),
  VIDEO_STORYBOARD: defineVar(
    "video",
    bool(false),
    "Also write a storyboard sprite JPEG and a WebVTT file for scrubbing previews.",
  ),
  VIDEO_HDR_TONE_MAP: defineVar(
    "video",
    bool(true),
    "Tone-map HDR sources (PQ/HDR10 and HLG, e.g. iPhone and Android HDR video) to SDR BT.709 for renditions, poster and storyboard; when false they are encoded as they are and look washed out. Adds about 60 % CPU to an HDR job (~0.8 cpu-s per second of 1080p30), done once at the top rung's size.",
  ),
  VIDEO_CHUNK_SECONDS: defineVar(
    "video",
    int(0, 0, 3600, "s"),
    "Segment-parallel encoding of long videos (docs/chunked-video.md): seconds of source per chunk task, rounded up to a multiple of VIDEO_HLS_SEGMENT_SECONDS; any worker of the fleet encodes a chunk, audio is encoded once as its own task, and the last chunk stitches the playlists without re-encoding. A video shorter than two chunks, or one chunking does not support, is encoded in one pass. 0 (the default) turns it off.",
  ),
  VIDEO_CHUNK_FIRST_SECONDS: defineVar(
    "video",
    int(6, 0, 3600, "s"),
    "Seconds of source in the first chunk of a chunked video, rounded up to a multiple of VIDEO_HLS_SEGMENT_SECONDS and at most VIDEO_CHUNK_SECONDS: the video is playable once its audio and first chunk are in, so a short first chunk makes it playable sooner (one more ffmpeg start-up). 0: the same as VIDEO_CHUNK_SECONDS.",
  ),
  VIDEO_CHUNK_SOURCE_CACHE_SECONDS: defineVar(
    "video",
    int(600, 0, 86400, "s"),
    "Chunked video: a worker keeps the source it downloaded (or planned from) for the job's later tasks on that worker, so a source is fetched once per worker instead of once per chunk; a kept source unused this long is removed, as is one whose job ended on this worker. Kept sources and the inputs of the worker's other running jobs together stay within one per slot (a starting job makes an idle kept source go), so the temp volume holds what it is sized for (slots x largest input). 0: every task downloads the source itself.",
  ),
  VIDEO_CONTENT_AWARE_LADDER: defineVar(
    "video",
    bool(false),
    "HLS: fit each rung to the content. A probe encode of VIDEO_CONTENT_PROBE_SECONDS sampled across the clip at VIDEO_CONTENT_PROBE_CRF measures what the content needs per rung; each rung is then encoded at that CRF, capped at 1.5x the probe's bitrate and never above its VIDEO_HLS_RUNGS bitrate. Easy content (talking heads, animation, screen recordings) gets a fraction of the bits; hard content gets what the fixed ladder gives. Off by default.",
  ),
  VIDEO_CONTENT_PROBE_CRF: defineVar(
    "video",
    int(20, 10, 40),
    "x264 CRF of the content-aware probe and rungs (lower = better quality, more bits; see the README's quality section).",
  ),
  VIDEO_CONTENT_PROBE_SECONDS: defineVar(
    "video",
    int(6, 2, 60, "s"),
    "Seconds of video the content-aware probe encodes, in three windows spread across the clip (the whole clip when shorter).",
  ),
  MAX_IMAGE_PIXELS: defineVar(
    "image",
    int(100_000_000, 1, 1_000_000_000, "pixels"),
    "Images declaring more pixels are refused before decoding (decompression bombs).",
  ),
  IMAGE_THUMBNAIL_SIZES: defineVar(
    "image",
    custom(intList([150, 600, 1200]), "150,600,1200", "px"),
    "Thumbnail bounding boxes small,medium,large in pixels.",
  ),
  IMAGE_WEB_MAX_DIMENSION: defineVar(
    "image",
    int(2048, 16, 16384, "px"),
    "Longest side of the WebP and AVIF web variants.",
  ),
  IMAGE_JPEG_QUALITY: defineVar(
    "image",
    int(86, 1, 100),
    "mozjpeg quality of the optimized JPEG (also video posters and audio cover art). 86 with 4:4:4 chroma is the fewest bytes reaching SSIMULACRA2 ≥ 75 on every input of npm run bench's quality area (README, quality section).",
  ),
  IMAGE_JPEG_CHROMA_SUBSAMPLING: defineVar(
    "image",
    enumOf(["4:4:4", "4:2:0"], "4:4:4"),
    "Chroma subsampling of the optimized JPEG: `4:4:4` keeps colour edges (text, UI, graphics) sharp and reached the quality target at fewer bytes than `4:2:0` at a higher quality; `4:2:0` for the smallest files.",
  ),
  IMAGE_WEBP_QUALITY: defineVar(
    "image",
    int(85, 1, 100),
    "WebP quality of thumbnails, the web WebP and document previews: 85 is the lowest meeting SSIMULACRA2 ≥ 70 on every input (README, quality section).",
  ),
  IMAGE_AVIF_QUALITY: defineVar(
    "image",
    int(70, 1, 100),
    "AVIF quality of the web AVIF: 70 is the lowest meeting SSIMULACRA2 ≥ 70 on every input at effort 2 (README, quality section).",
  ),
  IMAGE_AVIF_EFFORT: defineVar(
    "image",
    int(2, 0, 9),
    "AVIF CPU effort 0-9: at the quality target effort 4 made files of the same size as effort 2 (0.3 % smaller) for about 10x the CPU, so 2.",
  ),
  IMAGE_ENABLE_AVIF: defineVar("image", bool(true), "Produce the AVIF variant."),
  QUALITY_SCORES: defineVar(
    "quality",
    bool(false),
    "Score every image variant and video rendition against its source at the output size and store the score with the output in the job result and manifest (`quality`), so bad encodes can be spotted. Off by default: it decodes source and outputs again (images: about as much CPU as the encodes with SSIM; video: one more decode of the source and every rung).",
  ),
  QUALITY_IMAGE_METRIC: defineVar(
    "quality",
    enumOf(["ssim", "ssimulacra2"], "ssim"),
    "Image score with QUALITY_SCORES: `ssim` (SSIM and PSNR by ffmpeg, always available) or `ssimulacra2` (needs `ssimulacra2_rs`, see scripts/install-quality-tools.sh). Video is always scored with ffmpeg's SSIM and PSNR.",
  ),
  QUALITY_SSIMULACRA2_PATH: defineVar(
    "quality",
    custom(z.string().trim().min(1).default("ssimulacra2_rs"), "ssimulacra2_rs"),
    "The ssimulacra2_rs executable (name on PATH or absolute path) used when QUALITY_IMAGE_METRIC=ssimulacra2.",
  ),
  AUDIO_FORMATS: defineVar(
    "audio",
    custom(audioFormatList(["mp3", "aac", "ogg"]), "mp3,aac,ogg"),
    "Audio transcodes to produce, comma-separated from mp3 (libmp3lame), aac (AAC in M4A), ogg (Opus in Ogg); `none` for waveform and tags only.",
  ),
  AUDIO_MP3_BITRATE_KBPS: defineVar(
    "audio",
    int(192, 32, 320, "kbit/s"),
    "MP3 bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  ),
  AUDIO_AAC_BITRATE_KBPS: defineVar(
    "audio",
    int(160, 24, 320, "kbit/s"),
    "AAC bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  ),
  AUDIO_OPUS_BITRATE_KBPS: defineVar(
    "audio",
    int(96, 12, 256, "kbit/s"),
    "Opus bitrate for stereo in kbit/s; mono gets half. Never above the source's bitrate.",
  ),
  AUDIO_MAX_DURATION: defineVar(
    "audio",
    duration("4h", "s", "1s", "48h"),
    "Longest audio processed; longer files fail with `audio-too-long`; bare number in seconds, or 90m/4h.",
  ),
  AUDIO_WAVEFORM_SAMPLES_PER_PIXEL: defineVar(
    "audio",
    int(256, 2, 1_000_000, "samples"),
    "Waveform data zoom: audio samples per min/max pair (audiowaveform's --zoom; 256 is its default).",
  ),
  AUDIO_WAVEFORM_PIXELS_PER_SECOND: defineVar(
    "audio",
    int(0, 0, 48_000),
    "Waveform data zoom as min/max pairs per second of audio; when above 0 it replaces AUDIO_WAVEFORM_SAMPLES_PER_PIXEL.",
  ),
  AUDIO_WAVEFORM_BITS: defineVar(
    "audio",
    custom(
      int(8, 8, 16).schema.refine((bits) => bits === 8 || bits === 16, { message: "expected 8 or 16" }),
      "8",
      "bits",
    ),
    "Resolution of waveform data values: 8 (-128..127) or 16 (-32768..32767).",
  ),
  AUDIO_WAVEFORM_SPLIT_CHANNELS: defineVar(
    "audio",
    bool(false),
    "Waveform data per channel when true; a mono mix-down when false.",
  ),
  AUDIO_WAVEFORM_WIDTH: defineVar("audio", int(1800, 16, 16384, "px"), "Width of the waveform PNG in pixels."),
  AUDIO_WAVEFORM_HEIGHT: defineVar("audio", int(280, 8, 4096, "px"), "Height of the waveform PNG in pixels."),
  AUDIO_WAVEFORM_COLOR: defineVar(
    "audio",
    custom(hexColor("#3A6EA5"), "#3A6EA5"),
    "Waveform colour of the PNG, #RRGGBB or #RRGGBBAA.",
  ),
  AUDIO_WAVEFORM_BACKGROUND_COLOR: defineVar(
    "audio",
    custom(hexColor("#FFFFFF"), "#FFFFFF"),
    "Background colour of the PNG, #RRGGBB or #RRGGBBAA (alpha 00 for transparent).",
  ),
  AUDIO_COVER_MAX_DIMENSION: defineVar(
    "audio",
    int(800, 16, 4096, "px"),
    "Longest side in pixels of the `_cover.jpg` extracted from embedded cover art.",
  ),
  DOCUMENT_THUMB_WIDTH: defineVar(
    "document",
    int(300, 16, 4096, "px"),
    "Width in pixels of the page-1 `_thumb.webp` of a PDF.",
  ),
  DOCUMENT_PREVIEW_PAGES: defineVar(
    "document",
    int(3, 0, 100),
    "How many leading pages get a `_page_<n>.webp` preview (0 for none).",
  ),
  DOCUMENT_PREVIEW_WIDTH: defineVar(
    "document",
    int(1024, 16, 4096, "px"),
    "Width in pixels of the page previews; pages taller than 4x this width are fitted by height instead.",
  ),
  DOCUMENT_MAX_TEXT_PAGES: defineVar(
    "document",
    int(500, 0, 100_000),
    "Pages whose text is extracted to `_text.txt`; later pages are counted but not read (metadata says so).",
  ),
  DOCUMENT_TIME_BUDGET: defineVar(
    "document",
    duration("2m", "s", "1s", "12h"),
    "Time one document may take (conversion, rendering and text together); the pdf.js process is killed at the limit; bare number in seconds, or 2m.",
  ),
  DOCUMENT_MAX_IMAGE_PIXELS: defineVar(
    "document",
    int(40_000_000, 1, 1_000_000_000, "pixels"),
    "Images embedded in a PDF declaring more pixels are skipped when rendering (image bombs).",
  ),
  DOCUMENT_MAX_HEAP_MB: defineVar(
    "document",
    int(1024, 128, 65_536, "MiB"),
    "JavaScript heap limit in MiB of the child process that runs pdf.js; a document that needs more fails with `document-out-of-memory`.",
  ),
  DOCUMENT_ENABLE_LIBREOFFICE: defineVar(
    "document",
    bool(false),
    "Convert Office/OpenDocument files to PDF with LibreOffice (`soffice` must be on PATH). Off by default: LibreOffice is large and parses hostile input with far more code than pdf.js; run it only in a sandboxed container.",
  ),
  PROCESSOR_MODULES: defineVar(
    "worker",
    custom(stringList, undefined),
    "Comma-separated module paths of custom processors, tried before the built-ins.",
  ),
  METRICS_PORT: defineVar(
    "worker",
    int(9464, 0, 65535),
    "Port of /metrics, /healthz and /readyz (0 picks a free port).",
  ),
  MEDIA_LANES: defineVar(
    "lanes",
    custom(laneDefinitions, undefined),
    "Lanes by kind of work, each with its own queue, concurrency and workers: `quick=image,document,audio;video=video` (lane=media kinds, `;` between lanes; kinds: image, video, audio, document, playlist, unknown). The first lane is the entry lane: the bucket notifications (or the intake) feed its queue, and kinds no lane names (and bytes nothing recognises) belong to it. The worker that first receives an event decides the lane from the first bytes of the object (a ranged GET, never the name) and forwards the job to that lane's queue. Unset: one lane, on MEDIA_PROCESSING_QUEUE_URL.",
    { defaultText: "one lane (MEDIA_PROCESSING_QUEUE_URL, every kind)" },
  ),
  MEDIA_LANE_QUEUE_URLS: defineVar(
    "lanes",
    custom(laneUrlMap, undefined),
    "Queue of each lane: `quick=<url>;video=<url>`. The entry lane's defaults to MEDIA_PROCESSING_QUEUE_URL; every other lane must have one. Give each queue the media queue's redrive policy (same DLQ, maxReceiveCount = MAX_PROCESSING_RETRIES).",
    { defaultText: "entry lane: MEDIA_PROCESSING_QUEUE_URL" },
  ),
  WORKER_LANES: defineVar(
    "lanes",
    custom(stringList, undefined),
    "Comma-separated lanes this worker consumes (one consumer per lane queue, each with its lane's concurrency).",
    { defaultText: "every lane of MEDIA_LANES" },
  ),
  MEDIA_LANE_CONCURRENCY: defineVar(
    "lanes",
    custom(laneIntMap, undefined),
    "Jobs at once per worker in each lane: `quick=4;video=1`. A lane not listed uses MEDIA_PROCESSOR_CONCURRENCY.",
    { defaultText: "MEDIA_PROCESSOR_CONCURRENCY" },
  ),
  FAIR_SHARE: defineVar(
    "lanes",
    bool(false),
    "Fair share per tenant within a lane: while other tenants are active a tenant runs at most its share of the lane's slots (max(1, live capacity / active tenants)); each worker holds a few messages beyond its slots (FAIR_SHARE_LOOKAHEAD) and starts the one whose tenant uses the lane least (fewest running jobs, then fewest started in FAIR_SHARE_WINDOW); held messages of a tenant at its share that fill the look-ahead are put back for FAIR_SHARE_DEFER; with every slot busy and the look-ahead full of tenants already running, the newest held message is put back (a probe, 1 s) so the next receive sees further into the queue. A lone tenant may use every slot and is never deferred.",
  ),
  FAIR_SHARE_BACKLOG_QUEUE_URLS: defineVar(
    "lanes",
    custom(laneUrlMap, undefined),
    "With FAIR_SHARE: a backlog queue per lane, `quick=<url>`, for the surplus of tenants already running. With every slot busy and the look-ahead full, a worker keeps receiving from the lane's queue and moves each further message of a tenant that runs in the lane to the backlog (SendMessage, then delete), so the lane's queue holds only what arrived since and a neighbour's upload is received within one receive however deep the flood is; workers take from the backlog whenever their look-ahead has room. Give it the lane queue's redrive policy and scale the lane on both queues' depth. A lane not listed has no backlog (probes instead).",
    { defaultText: "none (probes)" },
  ),
  FAIR_SHARE_LOOKAHEAD: defineVar(
    "lanes",
    custom(laneLookaheadMap, undefined),
    "With FAIR_SHARE: messages a worker holds per lane beyond its running slots, waiting for one, so a waiting tenant's upload can start before a flooding tenant's older ones: `quick=8;video=0`. A held message waits for this worker's slots (its visibility kept up), so keep it 0 for lanes of long jobs. A lane not listed: 8 if it takes no video, else 0.",
    { defaultText: "8 for lanes without video, 0 otherwise" },
  ),
  FAIR_SHARE_NEWCOMER_SLOTS: defineVar(
    "lanes",
    custom(laneNewcomerSlotsMap, undefined),
    "With FAIR_SHARE: slots per worker above the lane's concurrency that start at once a held upload of a tenant with nothing running in the lane, when every slot is taken by other tenants' jobs (there is no preemption: without it that upload waits for one of them to end). The extra job shares the worker's CPU and memory with the running ones while it lasts: `quick=1;video=0`. A lane not listed: 1 if it takes no video, else 0.",
    { defaultText: "1 for lanes without video, 0 otherwise" },
  ),
  FAIR_SHARE_DEFER: defineVar(
    "lanes",
    duration("5s", "s", "1s", "15m"),
    "How long an over-share tenant's message is put back (re-sent with this delay; a message is deferred at most 12 times); seconds.",
  ),
  FAIR_SHARE_WINDOW: defineVar(
    "lanes",
    duration("30s", "s", "1s", "1h"),
    "How long a tenant counts as waiting (active) after one of its messages was seen or deferred in a lane; seconds.",
  ),
  WORKER_ID: defineVar(
    "worker",
    custom(z.string().default(`${os.hostname()}-${process.pid}`), undefined),
    "Name of this worker in job timelines and logs.",
    { defaultText: "<hostname>-<pid>" },
  ),
  WORKER_HEARTBEAT_INTERVAL: defineVar(
    "worker",
    duration("10s", "s", "1s", "1h"),
    "How often a worker reports itself alive in Redis (it counts as dead after three missed beats); seconds.",
  ),
  LOG_LEVEL: defineVar(
    "worker",
    enumOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"], "info"),
    "pino log level.",
  ),
} satisfies Record<string, VarSpec>;

/**
 * Variables only the API role reads (`api` and `all` commands). They extend the shared schema
 * rather than joining it, so the worker never validates them and starts without an API_TOKEN;
 * `loadApiConfig` (config.ts) checks them in the API's composition root.
 */
export const API_VARS = {
  API_PORT: defineVar(
    "api",
    int(8080, 0, 65535),
    "Port of the job API, the dashboard at / and the API's /healthz, /readyz and /metrics (0 picks a free port).",
  ),
  API_TOKEN: defineVar(
    "api",
    custom(
      z
        .string()
        .optional()
        .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
        // Short tokens can be guessed online; 16 characters is the floor, `openssl rand -hex 32` the habit.
        .pipe(
          z.string().min(16, { message: "expected at least 16 characters (e.g. openssl rand -hex 32)" }).optional(),
        ),
      undefined,
    ),
    "Bearer token required on everything under /api (at least 16 characters). The API refuses to start without one unless API_INSECURE_NO_AUTH=true.",
  ),
  API_INSECURE_NO_AUTH: defineVar(
    "api",
    bool(false),
    "Serve /api without a token. Only for a laptop or behind an authenticating proxy.",
  ),
  API_BODY_LIMIT_BYTES: defineVar(
    "api",
    int(256 * 1024, 1024, 16 * 1024 * 1024, "bytes"),
    "Largest request body the API reads; larger ones get 413.",
  ),
  API_PRESIGN_EXPIRY: defineVar(
    "api",
    duration("15m", "s", "1m", "7d"),
    "Lifetime of the presigned output URLs the dashboard previews use; bare number in seconds, or 15m.",
  ),
  API_TOKENS: defineVar(
    "api",
    custom(apiTokenList, undefined),
    "Scoped bearer tokens, comma-separated `id:scope:token` or `id:scope@tenant:token` (scope read, operate or admin; `@tenant` limits the token to one tenant's jobs); the token part may be `sha256=<hex>` so only its hash is configured. The id (never the token) is recorded on every change a token makes. API_TOKEN, when set, is one more admin token with id `api-token`.",
  ),
  API_STATS_CACHE: defineVar(
    "api",
    duration("2s", "s", "0", "1m"),
    "How long one stats answer is shared by every caller (concurrent callers wait for the one read in flight); seconds, 0 to compute each time.",
  ),
  API_QUEUE_DEPTH_INTERVAL: defineVar(
    "api",
    duration("5s", "s", "100ms", "5m"),
    "How often the API reads the depths of the media, dead-letter and intake queues for stats and the console (in the background: no request waits on SQS); seconds.",
  ),
  API_PUBLIC_S3_ENDPOINT: defineVar(
    "api",
    optionalUrl("AWS_ENDPOINT_URL, or AWS itself"),
    "S3 endpoint as a browser reaches it, used to presign preview URLs and in the dashboard's content policy (docker-compose: http://localhost:4566, where AWS_ENDPOINT_URL names the internal emulator host). Unset: AWS_ENDPOINT_URL, or AWS itself.",
  ),
  API_UPLOAD_EXPIRY: defineVar(
    "api",
    duration("15m", "s", "1m", "7d"),
    "Lifetime of the upload URLs POST /api/media/uploads hands out (presigned POST policy, PUT, multipart part URLs); bare number in seconds, or 15m.",
  ),
  API_UPLOAD_NOTIFICATIONS: defineVar(
    "api",
    bool(false),
    "The upload bucket sends S3 event notifications to the media queue. Then POST /api/media/uploads/confirm enqueues nothing itself (the notification does; one upload, one job) unless the object has a versionId, which gives both the same job id. Off (the default): the confirm is the only enqueue, so nothing is lost on a bucket without notifications.",
  ),
  API_PLAYBACK_PUBLIC: defineVar(
    "api",
    bool(false),
    "Serve GET /api/media/item/playback, /api/media/item/output and /api/media/item/stream without a token (keys are unguessable: the server builds them with a random part). Off: they need a read token like every /api route. With DELIVERY_SIGNING_KEYS set, tokenless requests need a valid signature instead.",
  ),
  DELIVERY_SIGNING_KEYS: defineVar(
    "delivery",
    custom(deliverySigningKeys, undefined),
    "Signed delivery: comma-separated HMAC-SHA256 keys (at least 32 characters; two while rotating, the new one first: the first signs, both verify). Set: item, playback and output URLs carry `expires` and `sig`, playlists served by the stream route sign every URI inside, and the playback, output and stream routes answer a tokenless request only with a valid, unexpired signature (403 otherwise). Unset: URLs are unsigned and access is as API_PLAYBACK_PUBLIC says.",
  ),
  DELIVERY_URL_TTL: defineVar(
    "delivery",
    duration("1h", "s", "10s", "7d"),
    "Lifetime of the signed URLs handed out with DELIVERY_SIGNING_KEYS; URIs inside a playlist expire with the playlist's own URL, so make it longer than your longest video is watched. Bare number in seconds, or 1h.",
  ),
  WEBHOOK_ENDPOINTS: defineVar(
    "webhooks",
    custom(webhookEndpointList, undefined),
    'Webhook receivers as JSON: `[{"id":"app","url":"https://app.example.com/hooks/media","secrets":["<new>","<old>"],"tenant":"t1","events":["media.job.completed"]}]` (tenant and events optional; every secret signs, so two rotate without downtime; secrets at least 16 characters). Needs WEBHOOKS_ENABLED.',
  ),
  WEBHOOK_ALLOW_HTTP: defineVar("webhooks", bool(false), "Allow http:// webhook URLs (default https only)."),
  WEBHOOK_ALLOW_PRIVATE_TARGETS: defineVar(
    "webhooks",
    bool(false),
    "Allow webhook targets on loopback, private, link-local (cloud metadata) and other non-public addresses. Off: such URLs are refused at startup and names resolving to them at delivery.",
  ),
  WEBHOOK_RETRY_BASE: defineVar(
    "webhooks",
    duration("30s", "s", "10ms", "1h"),
    "First retry delay of a failed webhook delivery; each further one doubles (at most 1 h, ±20 % jitter); seconds.",
  ),
  WEBHOOK_RETRY_WINDOW: defineVar(
    "webhooks",
    duration("24h", "s", "24h", "30d"),
    "How long a webhook delivery is retried after its event before it is marked failed (replayable from the API); at least 24 h.",
  ),
  WEBHOOK_TIMEOUT: defineVar(
    "webhooks",
    duration("10s", "s", "100ms", "1m"),
    "Time a webhook receiver has to answer one delivery; seconds.",
  ),
  WEBHOOK_POLL_INTERVAL: defineVar(
    "webhooks",
    duration("1s", "s", "10ms", "1m"),
    "How often the API looks for recorded events and due webhook deliveries; seconds.",
  ),
} satisfies Record<string, VarSpec>;

/**
 * Variables of the `emulator` command only (the local S3+SQS stand-in of docker-compose). It also
 * reads AWS_REGION, MEDIA_BUCKET, MAX_PROCESSING_RETRIES, OUTPUT_SEGMENT and LOG_LEVEL with the
 * worker's declarations (see loadEmulatorConfig), so both sides agree on them.
 */
export const EMULATOR_VARS = {
  EMULATOR_PORT: defineVar("emulator", int(4566, 0, 65535), "Port the emulator serves S3 and SQS on."),
  EMULATOR_HOST: defineVar(
    "emulator",
    optionalString("the address it was reached on"),
    "Host name queue URLs are built with (docker-compose: the emulator's service name).",
  ),
  EMULATOR_QUEUE_NAME: defineVar(
    "emulator",
    string("media-processing"),
    "Name of the media queue the emulator creates.",
  ),
  EMULATOR_DLQ_NAME: defineVar(
    "emulator",
    string("media-processing-dlq"),
    "Name of the dead-letter queue the emulator creates (redrive after MAX_PROCESSING_RETRIES receives).",
  ),
  EMULATOR_JOB_EVENTS_TOPIC: defineVar(
    "emulator",
    optionalString(),
    "Name of an SNS topic the emulator creates for job events (MEDIA_PROCESSING_TOPIC_ARN of the worker). Unset: none.",
  ),
  EMULATOR_EXTRA_QUEUES: defineVar(
    "emulator",
    custom(stringList, undefined),
    "Comma-separated names of more queues the emulator creates like the media queue (same dead-letter queue and redrive), e.g. the queues of the lanes after the first (MEDIA_LANE_QUEUE_URLS).",
    { defaultText: "none" },
  ),
} satisfies Record<string, VarSpec>;

/** The raw env schema of the worker. */
export const envSchema = schemaOf(WORKER_VARS);
/** The worker's schema plus the API's own variables. */
export const apiEnvSchema = envSchema.extend(schemaOf(API_VARS).shape);

export type RawEnv = z.input<typeof envSchema>;

/** Human documentation of each variable, used for .env.example and the README table. */
export const ENV_DOCS = docsOf(WORKER_VARS);
/** Documentation of the API-only variables, in the style of {@link ENV_DOCS}. */
export const API_ENV_DOCS = docsOf(API_VARS);

/** The emulator's own variables plus the worker's it shares; MEDIA_BUCKET defaults to the bucket .env.example names. */
export const emulatorEnvSchema = schemaOf(EMULATOR_VARS).extend({
  AWS_REGION: WORKER_VARS.AWS_REGION.schema,
  MEDIA_BUCKET: WORKER_VARS.MEDIA_BUCKET.schema.default(EXAMPLE_BUCKET),
  MAX_PROCESSING_RETRIES: WORKER_VARS.MAX_PROCESSING_RETRIES.schema,
  OUTPUT_SEGMENT: WORKER_VARS.OUTPUT_SEGMENT.schema,
  LOG_LEVEL: WORKER_VARS.LOG_LEVEL.schema,
});
