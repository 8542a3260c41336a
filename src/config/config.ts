import { createHash } from "node:crypto";
import type { z } from "zod";
import { apiEnvSchema, emulatorEnvSchema, envSchema, type RawEnv } from "./config.schema.ts";
import { SQS_MAX_VISIBILITY_SEC } from "./sqs-limits.ts";

export { SQS_MAX_VISIBILITY_SEC } from "./sqs-limits.ts";

/**
 * The typed configuration every module receives a slice of. Units are in the names. Its fields
 * are typed by the variable declarations (config.schema.ts) through {@link toAppConfig}, the one
 * place each variable gets its spot in this shape; nothing here is typed by hand again.
 */
export type AppConfig = ReturnType<typeof toAppConfig>;

type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Parses and validates the environment. Throws one {@link ConfigError} listing every problem,
 * so an operator fixes them all in one go rather than one restart per variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env as RawEnv);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`));
  }
  const e = parsed.data;
  const visibilityTimeoutSec = Math.round(e.SQS_VISIBILITY_TIMEOUT / 1000);
  const heartbeatIntervalSec =
    e.SQS_HEARTBEAT_INTERVAL > 0
      ? Math.round(e.SQS_HEARTBEAT_INTERVAL / 1000)
      : Math.max(1, Math.floor(visibilityTimeoutSec / 3));
  const [small, medium, large] = e.IMAGE_THUMBNAIL_SIZES;
  const problems: string[] = [];
  if (heartbeatIntervalSec >= visibilityTimeoutSec) {
    problems.push(
      `SQS_HEARTBEAT_INTERVAL (${heartbeatIntervalSec}s) must be shorter than SQS_VISIBILITY_TIMEOUT (${visibilityTimeoutSec}s)`,
    );
  }
  if (e.IMAGE_THUMBNAIL_SIZES.length !== 3 || small === undefined || medium === undefined || large === undefined) {
    problems.push(
      `IMAGE_THUMBNAIL_SIZES: expected three sizes (small,medium,large), got ${e.IMAGE_THUMBNAIL_SIZES.length}`,
    );
  }
  const keyframeSeconds =
    e.VIDEO_KEYFRAME_INTERVAL_SECONDS > 0
      ? e.VIDEO_KEYFRAME_INTERVAL_SECONDS
      : e.VIDEO_HLS_SEGMENT_SECONDS % 2 === 0
        ? 2
        : 1;
  if (e.VIDEO_HLS_SEGMENT_SECONDS % keyframeSeconds !== 0) {
    problems.push(
      `VIDEO_HLS_SEGMENT_SECONDS (${e.VIDEO_HLS_SEGMENT_SECONDS}) must be a multiple of VIDEO_KEYFRAME_INTERVAL_SECONDS (${keyframeSeconds}), or segments would not start on the same keyframes in every rung`,
    );
  }
  const leaseTtlMs = e.JOB_LEASE_TTL > 0 ? e.JOB_LEASE_TTL : visibilityTimeoutSec * 1000;
  if (e.JOB_LEASE_RENEW_INTERVAL >= leaseTtlMs)
    problems.push(
      `JOB_LEASE_RENEW_INTERVAL (${e.JOB_LEASE_RENEW_INTERVAL / 1000}s) must be shorter than the lease (JOB_LEASE_TTL, default SQS_VISIBILITY_TIMEOUT: ${leaseTtlMs / 1000}s)`,
    );
  if (e.RETRY_BACKOFF_MAX < e.RETRY_BACKOFF_BASE)
    problems.push("RETRY_BACKOFF_MAX must be at least RETRY_BACKOFF_BASE");
  if (e.RETRY_BACKOFF_MAX > SQS_MAX_VISIBILITY_SEC * 1000)
    problems.push("RETRY_BACKOFF_MAX must be at most 12h (SQS limit)");
  const lanes = resolveLanes(e, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return toAppConfig(e, {
    lanes,
    visibilityTimeoutSec,
    heartbeatIntervalSec,
    leaseTtlMs,
    keyframeSeconds,
    thumbnailSizes: { small: small!, medium: medium!, large: large! },
  });
}

/** One lane as a worker runs it: its queue, the kinds it takes, its concurrency per worker. */
export interface LaneSettings {
  name: string;
  /** Media kinds routed here; the entry lane also takes every kind no lane names. */
  kinds: string[];
  queueUrl: string;
  concurrency: number;
  /** Messages held beyond the running slots with FAIR_SHARE (FAIR_SHARE_LOOKAHEAD); 0 without it. */
  lookahead: number;
  /** Slots above `concurrency` a newcomer tenant may start in at once with FAIR_SHARE (FAIR_SHARE_NEWCOMER_SLOTS); 0 without it. */
  newcomerSlots: number;
  /** The lane's backlog queue with FAIR_SHARE (FAIR_SHARE_BACKLOG_QUEUE_URLS): where running tenants' surplus waits; absent: none. */
  backlogQueueUrl?: string;
}

/** Look-ahead of a lane not listed in FAIR_SHARE_LOOKAHEAD: short jobs only (a held video would wait minutes). */
const DEFAULT_LOOKAHEAD = 8;

/** Newcomer slots of a lane not listed in FAIR_SHARE_NEWCOMER_SLOTS: short jobs only (an extra video would slow every running one for minutes). */
const DEFAULT_NEWCOMER_SLOTS = 1;

/**
 * MEDIA_LANES and its companions into the lane list, entry lane first. Unset: one lane named
 * `media` on MEDIA_PROCESSING_QUEUE_URL at MEDIA_PROCESSOR_CONCURRENCY — today's single queue.
 */
function resolveLanes(e: Env, problems: string[]): { all: LaneSettings[]; served: string[] } {
  const definitions = e.MEDIA_LANES.length > 0 ? e.MEDIA_LANES : [{ name: "media", kinds: [] }];
  const all = definitions.map((lane, index): LaneSettings => {
    const queueUrl = e.MEDIA_LANE_QUEUE_URLS[lane.name] ?? (index === 0 ? e.MEDIA_PROCESSING_QUEUE_URL : undefined);
    if (queueUrl === undefined) problems.push(`MEDIA_LANE_QUEUE_URLS: lane "${lane.name}" has no queue URL`);
    return {
      name: lane.name,
      kinds: [...lane.kinds],
      queueUrl: queueUrl ?? "",
      concurrency: e.MEDIA_LANE_CONCURRENCY[lane.name] ?? e.MEDIA_PROCESSOR_CONCURRENCY,
      lookahead: e.FAIR_SHARE
        ? (e.FAIR_SHARE_LOOKAHEAD[lane.name] ?? (takesVideo(index, definitions) ? 0 : DEFAULT_LOOKAHEAD))
        : 0,
      newcomerSlots: e.FAIR_SHARE
        ? (e.FAIR_SHARE_NEWCOMER_SLOTS[lane.name] ?? (takesVideo(index, definitions) ? 0 : DEFAULT_NEWCOMER_SLOTS))
        : 0,
      ...(e.FAIR_SHARE && e.FAIR_SHARE_BACKLOG_QUEUE_URLS[lane.name]
        ? { backlogQueueUrl: e.FAIR_SHARE_BACKLOG_QUEUE_URLS[lane.name] }
        : {}),
    };
  });
  const names = all.map((lane) => lane.name);
  const strays = [
    ...Object.keys(e.MEDIA_LANE_QUEUE_URLS),
    ...Object.keys(e.MEDIA_LANE_CONCURRENCY),
    ...Object.keys(e.FAIR_SHARE_LOOKAHEAD),
    ...Object.keys(e.FAIR_SHARE_NEWCOMER_SLOTS),
    ...Object.keys(e.FAIR_SHARE_BACKLOG_QUEUE_URLS),
  ].filter((name) => !names.includes(name));
  if (strays.length > 0)
    problems.push(
      `MEDIA_LANE_QUEUE_URLS / MEDIA_LANE_CONCURRENCY / FAIR_SHARE_LOOKAHEAD / FAIR_SHARE_NEWCOMER_SLOTS / FAIR_SHARE_BACKLOG_QUEUE_URLS: unknown lanes ${[...new Set(strays)].join(", ")}`,
    );
  const queues = all.map((lane) => lane.queueUrl).filter(Boolean);
  if (new Set(queues).size !== queues.length) problems.push("MEDIA_LANE_QUEUE_URLS: two lanes share one queue");
  const backlogs = all.flatMap((lane) => (lane.backlogQueueUrl ? [lane.backlogQueueUrl] : []));
  if (new Set(backlogs).size !== backlogs.length || backlogs.some((url) => queues.includes(url)))
    problems.push(
      "FAIR_SHARE_BACKLOG_QUEUE_URLS: a backlog queue must be its lane's own, not another lane's or backlog's queue",
    );
  if (!e.FAIR_SHARE && Object.keys(e.FAIR_SHARE_BACKLOG_QUEUE_URLS).length > 0)
    problems.push("FAIR_SHARE_BACKLOG_QUEUE_URLS: backlog queues are part of the fair share; set FAIR_SHARE=true");
  const served = e.WORKER_LANES.length > 0 ? [...new Set(e.WORKER_LANES)] : names;
  const unknown = served.filter((name) => !names.includes(name));
  if (unknown.length > 0)
    problems.push(`WORKER_LANES: unknown lanes ${unknown.join(", ")} (MEDIA_LANES defines ${names.join(", ")})`);
  return { all, served };
}

/** A lane takes video if it names it, or if it is the entry lane (which takes every kind no lane names) and no lane names video. */
function takesVideo(index: number, all: ReadonlyArray<{ kinds: readonly string[] }>): boolean {
  const named = (lane: { kinds: readonly string[] }) => lane.kinds.includes("video");
  return named(all[index]!) || (index === 0 && !all.some(named));
}

/** The values loadConfig derives from several variables, after checking them. */
interface Derived {
  lanes: { all: LaneSettings[]; served: string[] };
  visibilityTimeoutSec: number;
  heartbeatIntervalSec: number;
  leaseTtlMs: number;
  keyframeSeconds: number;
  thumbnailSizes: { small: number; medium: number; large: number };
}

/** Places every parsed variable in the nested shape modules receive; durations leave in the unit their field names. */
function toAppConfig(e: Env, derived: Derived) {
  const { visibilityTimeoutSec, heartbeatIntervalSec, leaseTtlMs, keyframeSeconds } = derived;
  const endpointUrl = e.AWS_ENDPOINT_URL;
  return {
    aws: { region: e.AWS_REGION, endpointUrl, forcePathStyle: e.AWS_S3_FORCE_PATH_STYLE ?? endpointUrl !== undefined },
    storage: {
      sourceBuckets: e.MEDIA_BUCKET.split(",")
        .map((bucket) => bucket.trim())
        .filter(Boolean),
      outputBucket: e.OUTPUT_BUCKET,
      outputSegment: e.OUTPUT_SEGMENT,
      /** CDN_BASE_URL without a trailing slash; outputs carry `<base>/<key>` as their url. */
      cdnBaseUrl: e.CDN_BASE_URL?.replace(/\/+$/, ""),
      tenantKeyPattern: e.TENANT_KEY_PATTERN,
      maxInputBytes: e.MAX_INPUT_BYTES,
      tempDir: e.TEMP_DIR,
    },
    queue: {
      queueUrl: e.MEDIA_PROCESSING_QUEUE_URL,
      dlqUrl: e.MEDIA_DLQ_URL,
      /** Where bucket notifications arrive when the intake records them as queued jobs first (MEDIA_INTAKE_QUEUE_URL). */
      intakeQueueUrl: e.MEDIA_INTAKE_QUEUE_URL,
      concurrency: e.MEDIA_PROCESSOR_CONCURRENCY,
      batchSize: e.SQS_BATCH_SIZE,
      waitTimeSeconds: e.SQS_WAIT_TIME_SECONDS,
      visibilityTimeoutSec,
      heartbeatIntervalSec,
      maxReceives: e.MAX_PROCESSING_RETRIES,
      retryBackoffBaseSec: Math.round(e.RETRY_BACKOFF_BASE / 1000),
      retryBackoffMaxSec: Math.round(e.RETRY_BACKOFF_MAX / 1000),
      shutdownGraceMs: e.SHUTDOWN_GRACE_PERIOD,
    },
    /**
     * Lanes by kind of work (MEDIA_LANES; src/lanes): every lane, the entry lane first, and the
     * names this worker consumes. One lane (the default) is today's single media queue.
     */
    lanes: {
      all: derived.lanes.all,
      served: derived.lanes.served,
      fairShare: {
        enabled: e.FAIR_SHARE,
        deferSec: Math.round(e.FAIR_SHARE_DEFER / 1000),
        windowMs: e.FAIR_SHARE_WINDOW,
      },
    },
    redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX },
    /** Job events out: SNS topic every terminal job state is published to (undefined turns them off); webhooksEnabled records them for webhook delivery. */
    jobEvents: { topicArn: e.MEDIA_PROCESSING_TOPIC_ARN, webhooksEnabled: e.WEBHOOKS_ENABLED },
    jobs: {
      statusTtlSec: Math.round(e.JOB_STATUS_TTL / 1000),
      leaseTtlMs,
      leaseRenewMs: e.JOB_LEASE_RENEW_INTERVAL,
      sweepIntervalMs: e.JOB_SWEEP_INTERVAL,
      processingTimeoutMs: e.PROCESSING_TIMEOUT,
    },
    image: {
      maxPixels: e.MAX_IMAGE_PIXELS,
      thumbnailSizes: derived.thumbnailSizes,
      webMaxDimension: e.IMAGE_WEB_MAX_DIMENSION,
      jpegQuality: e.IMAGE_JPEG_QUALITY,
      /** Chroma subsampling of the optimized JPEG. */
      jpegChromaSubsampling: e.IMAGE_JPEG_CHROMA_SUBSAMPLING,
      webpQuality: e.IMAGE_WEBP_QUALITY,
      avifQuality: e.IMAGE_AVIF_QUALITY,
      avifEffort: e.IMAGE_AVIF_EFFORT,
      avifEnabled: e.IMAGE_ENABLE_AVIF,
    },
    video: {
      hlsEnabled: e.ENABLE_HLS_TRANSCODING,
      /** Ladder rungs, lowest first; each is a box `height` high (16:9), turned for portrait sources. */
      rungs: e.VIDEO_HLS_RUNGS,
      segmentSeconds: e.VIDEO_HLS_SEGMENT_SECONDS,
      /** Forced keyframe spacing; divides segmentSeconds, so segments start on a keyframe in every rung. */
      keyframeSeconds,
      /** I-frame playlists for TS renditions. */
      iFramePlaylists: e.VIDEO_HLS_IFRAME_PLAYLISTS,
      segmentFormat: e.VIDEO_HLS_SEGMENT_FORMAT,
      maxDurationSec: e.VIDEO_MAX_DURATION / 1000,
      maxPixels: e.VIDEO_MAX_PIXELS,
      maxFps: e.VIDEO_MAX_FPS,
      x264Preset: e.VIDEO_X264_PRESET,
      audioOnlyRendition: e.VIDEO_AUDIO_ONLY_RENDITION,
      addSilentAudio: e.VIDEO_ADD_SILENT_AUDIO,
      posterPositionPercent: e.VIDEO_POSTER_POSITION_PERCENT,
      storyboard: e.VIDEO_STORYBOARD,
      /** Convert HDR (PQ/HLG) sources to SDR BT.709 before encoding. */
      hdrToneMap: e.VIDEO_HDR_TONE_MAP,
      /** Fit rung bitrates to the content with a probe encode (content-ladder.ts); never above the configured rungs. */
      contentAwareLadder: e.VIDEO_CONTENT_AWARE_LADDER,
      /** Seconds of source per chunk task (segment-parallel encoding, src/pipeline/chunked); 0 = one pass always. */
      chunkSeconds: e.VIDEO_CHUNK_SECONDS,
      /** Seconds of source in the first chunk (playable sooner); 0 = chunkSeconds. */
      chunkFirstSeconds: e.VIDEO_CHUNK_FIRST_SECONDS,
      /** How long a worker keeps a chunked video's source for the job's later tasks; 0 = no cache. */
      chunkSourceCacheSeconds: e.VIDEO_CHUNK_SOURCE_CACHE_SECONDS,
      contentProbeCrf: e.VIDEO_CONTENT_PROBE_CRF,
      contentProbeSeconds: e.VIDEO_CONTENT_PROBE_SECONDS,
    },
    /** Optional quality scores of every output against its source (src/processors/quality). */
    quality: {
      scores: e.QUALITY_SCORES,
      imageMetric: e.QUALITY_IMAGE_METRIC,
      ssimulacra2Binary: e.QUALITY_SSIMULACRA2_PATH,
    },
    audio: {
      /** Transcode targets in output order: mp3, aac (M4A), ogg (Opus). */
      formats: e.AUDIO_FORMATS,
      mp3BitrateKbps: e.AUDIO_MP3_BITRATE_KBPS,
      aacBitrateKbps: e.AUDIO_AAC_BITRATE_KBPS,
      opusBitrateKbps: e.AUDIO_OPUS_BITRATE_KBPS,
      maxDurationSec: e.AUDIO_MAX_DURATION / 1000,
      waveform: {
        samplesPerPixel: e.AUDIO_WAVEFORM_SAMPLES_PER_PIXEL,
        /** 0 = use samplesPerPixel. */
        pixelsPerSecond: e.AUDIO_WAVEFORM_PIXELS_PER_SECOND,
        bits: e.AUDIO_WAVEFORM_BITS === 16 ? (16 as const) : (8 as const),
        splitChannels: e.AUDIO_WAVEFORM_SPLIT_CHANNELS,
        imageWidth: e.AUDIO_WAVEFORM_WIDTH,
        imageHeight: e.AUDIO_WAVEFORM_HEIGHT,
        color: e.AUDIO_WAVEFORM_COLOR,
        backgroundColor: e.AUDIO_WAVEFORM_BACKGROUND_COLOR,
      },
      coverMaxDimension: e.AUDIO_COVER_MAX_DIMENSION,
    },
    document: {
      thumbWidthPx: e.DOCUMENT_THUMB_WIDTH,
      previewPages: e.DOCUMENT_PREVIEW_PAGES,
      previewWidthPx: e.DOCUMENT_PREVIEW_WIDTH,
      maxTextPages: e.DOCUMENT_MAX_TEXT_PAGES,
      timeBudgetMs: e.DOCUMENT_TIME_BUDGET,
      maxImagePixels: e.DOCUMENT_MAX_IMAGE_PIXELS,
      maxHeapMb: e.DOCUMENT_MAX_HEAP_MB,
      libreOfficeEnabled: e.DOCUMENT_ENABLE_LIBREOFFICE,
    },
    processorModules: e.PROCESSOR_MODULES,
    metricsPort: e.METRICS_PORT,
    workerId: e.WORKER_ID,
    workerHeartbeatMs: e.WORKER_HEARTBEAT_INTERVAL,
    logLevel: e.LOG_LEVEL,
  };
}

/** Settings of the API role only (see API_ENV_DOCS), typed by their declarations through {@link toApiSettings}. */
export type ApiSettings = ReturnType<typeof toApiSettings>;

export type ApiConfig = AppConfig & { api: ApiSettings };

/**
 * The worker's configuration plus the API's own variables. Like {@link loadConfig} it lists
 * every problem at once; it refuses a missing API_TOKEN unless API_INSECURE_NO_AUTH is set.
 */
export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const parsed = apiEnvSchema.safeParse(env as RawEnv);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`));
  }
  const e = parsed.data;
  const tokens = [
    ...(e.API_TOKEN
      ? [
          {
            id: "api-token",
            scope: "admin" as const,
            tenant: undefined,
            sha256: createHash("sha256").update(e.API_TOKEN).digest("hex"),
          },
        ]
      : []),
    ...e.API_TOKENS,
  ];
  if (tokens.length === 0 && !e.API_INSECURE_NO_AUTH) {
    throw new ConfigError([
      "API_TOKEN: required (a bearer token for /api, or scoped ones in API_TOKENS), or set API_INSECURE_NO_AUTH=true for local use without one",
    ]);
  }
  // The URLs' SSRF rules are checked where the dispatcher is built (api-server.ts): config imports nothing of ours.
  if (e.WEBHOOK_ENDPOINTS.length > 0 && !e.WEBHOOKS_ENABLED)
    throw new ConfigError([
      "WEBHOOK_ENDPOINTS: set WEBHOOKS_ENABLED=true here and on the workers, or no event is recorded for them",
    ]);
  if (e.API_TOKEN && e.API_TOKENS.some((spec) => spec.id === "api-token"))
    throw new ConfigError(['API_TOKENS: the id "api-token" is taken by API_TOKEN']);
  return { ...loadConfig(env), api: toApiSettings(e, tokens) };
}

type ApiEnv = z.infer<typeof apiEnvSchema>;

/** Places every parsed API variable in the `api` slice; durations leave in the unit their field names. */
function toApiSettings(e: ApiEnv, tokens: ApiEnv["API_TOKENS"]) {
  return {
    port: e.API_PORT,
    /** Undefined only when `insecureNoAuth` is set. */
    token: e.API_TOKEN,
    insecureNoAuth: e.API_INSECURE_NO_AUTH,
    bodyLimitBytes: e.API_BODY_LIMIT_BYTES,
    presignExpirySec: Math.round(e.API_PRESIGN_EXPIRY / 1000),
    /** Scoped tokens (API_TOKENS plus API_TOKEN as the admin token `api-token`), by the hash of the token. */
    tokens,
    statsCacheMs: e.API_STATS_CACHE,
    queueDepthIntervalMs: e.API_QUEUE_DEPTH_INTERVAL,
    /** S3 endpoint as browsers reach it (presigned previews, the content policy); undefined: AWS_ENDPOINT_URL or AWS. */
    publicS3Endpoint: e.API_PUBLIC_S3_ENDPOINT,
    uploadExpirySec: Math.round(e.API_UPLOAD_EXPIRY / 1000),
    /** The upload bucket notifies the media queue itself (API_UPLOAD_NOTIFICATIONS): a confirm then does not enqueue. */
    uploadNotifications: e.API_UPLOAD_NOTIFICATIONS,
    playbackPublic: e.API_PLAYBACK_PUBLIC,
    /** Signed delivery (DELIVERY_SIGNING_KEYS): empty keys = off; the first key signs, every key verifies. */
    delivery: { signingKeys: e.DELIVERY_SIGNING_KEYS, urlTtlSec: Math.round(e.DELIVERY_URL_TTL / 1000) },
    webhooks: {
      endpoints: e.WEBHOOK_ENDPOINTS,
      allowHttp: e.WEBHOOK_ALLOW_HTTP,
      allowPrivateTargets: e.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE,
      retryWindowMs: e.WEBHOOK_RETRY_WINDOW,
      timeoutMs: e.WEBHOOK_TIMEOUT,
      pollMs: e.WEBHOOK_POLL_INTERVAL,
    },
  };
}

/** What the `emulator` command reads (EMULATOR_VARS and the worker variables it shares). */
export type EmulatorConfig = ReturnType<typeof loadEmulatorConfig>;

/** The `emulator` command's settings; like {@link loadConfig} it lists every problem at once. */
export function loadEmulatorConfig(env: Record<string, string | undefined> = process.env) {
  const parsed = emulatorEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "(env)"}: ${issue.message}`));
  }
  const e = parsed.data;
  return {
    port: e.EMULATOR_PORT,
    queueUrlHost: e.EMULATOR_HOST,
    region: e.AWS_REGION,
    buckets: e.MEDIA_BUCKET.split(",")
      .map((bucket) => bucket.trim())
      .filter(Boolean),
    queueName: e.EMULATOR_QUEUE_NAME,
    dlqName: e.EMULATOR_DLQ_NAME,
    extraQueueNames: e.EMULATOR_EXTRA_QUEUES,
    jobEventsTopic: e.EMULATOR_JOB_EVENTS_TOPIC,
    maxReceiveCount: e.MAX_PROCESSING_RETRIES,
    outputSegment: e.OUTPUT_SEGMENT,
    logLevel: e.LOG_LEVEL,
  };
}
