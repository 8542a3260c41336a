import type { Redis } from "ioredis";
import type { JobErrorInfo } from "../../src/errors.ts";
import { jobIdFor, type JobSource, type JobStatus, type TimelineEntry } from "../../src/jobs/job.model.ts";
import type { JobStore } from "../../src/jobs/job.store.ts";

/**
 * Synthetic jobs of real record shape for the job-store benchmark, written through the store's
 * own scripts (claim, setType, complete/fail, enqueue, requestCancel, markPublished) so the
 * indexes, gauges and counters are exactly what production writes. Results and timelines are
 * modelled on the demo's real jobs: an image job has 6 outputs with EXIF-derived metadata and a
 * ThumbHash, a video job an HLS master and rung playlists, posters and probe facts, and so on.
 * Deterministic (a seeded generator per job), so 100k and 1M runs are the same mix.
 */
export interface SyntheticMix {
  tenants: string[];
  /** createdAt spreads evenly over [startMs, startMs + spanMs). */
  startMs: number;
  spanMs: number;
}

export interface SeededJob {
  id: string;
  status: JobStatus;
  type: string;
  tenantId: string;
  key: string;
  createdAtMs: number;
}

/** A small deterministic PRNG (mulberry32): the same mix for every run and size. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Status mix of a fleet's history: most jobs completed, some failed, a few waiting or running. */
const STATUS_WEIGHTS: Array<[JobStatus, number]> = [
  ["completed", 0.86],
  ["failed", 0.08],
  ["cancelled", 0.02],
  ["queued", 0.03],
  ["processing", 0.01],
];
const TYPE_WEIGHTS: Array<[string, number]> = [
  ["image", 0.62],
  ["video", 0.14],
  ["audio", 0.12],
  ["document", 0.12],
];
const ERRORS: JobErrorInfo[] = [
  { category: "processing", code: "image-corrupt", message: "VipsJpeg: Premature end of input file", retryable: false },
  {
    category: "processing",
    code: "unsupported-type",
    message: "no processor accepts application/octet-stream (detected unknown)",
    retryable: false,
  },
  {
    category: "transient",
    code: "s3-unavailable",
    message: "S3 answered 503 SlowDown on GetObject after 3 receives",
    retryable: true,
  },
  {
    category: "resource",
    code: "timeout",
    message: "the job took longer than PROCESSING_TIMEOUT (15m)",
    retryable: false,
  },
  {
    category: "processing",
    code: "video-too-long",
    message: "video is 5h 12m, longer than VIDEO_MAX_DURATION (4h)",
    retryable: false,
  },
];

function pick<T>(random: () => number, weighted: Array<[T, number]>): T {
  let roll = random();
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll <= 0) return value;
  }
  return weighted[weighted.length - 1]![0];
}

/** Zipf-like: a few big tenants, a long tail. */
export const tenantNames = (count: number) =>
  Array.from({ length: count }, (_, index) => `tenant-${String(index).padStart(4, "0")}`);
function pickTenant(random: () => number, tenants: string[]): string {
  return tenants[Math.min(tenants.length - 1, Math.floor(tenants.length * random() ** 3))]!;
}

function processed(key: string, variant: string): string {
  const slash = key.lastIndexOf("/");
  const base = key.slice(slash + 1).replace(/\.[^.]+$/, "");
  return `${key.slice(0, slash)}/processed/${base}_${variant}`;
}

/** A job result as the runner records it (outputs, metadata, manifest key, type, media). */
function resultFor(type: string, key: string, random: () => number): Record<string, unknown> {
  const bytes = () => Math.round(2_000 + random() * 400_000);
  const output = (variant: string, ext: string, contentType: string, extra: Record<string, unknown> = {}) => ({
    key: processed(key, `${variant}.${ext}`),
    variant,
    contentType,
    bytes: bytes(),
    ...extra,
  });
  const base = { manifestKey: processed(key, "manifest.json"), type };
  if (type === "image") {
    return {
      ...base,
      media: { kind: "image", format: "jpeg", mime: "image/jpeg" },
      outputs: [
        output("thumb_small", "webp", "image/webp", { width: 150, height: 100 }),
        output("thumb_medium", "webp", "image/webp", { width: 600, height: 400 }),
        output("thumb_large", "webp", "image/webp", { width: 1200, height: 800 }),
        output("optimized", "jpg", "image/jpeg", { width: 4032, height: 3024 }),
        output("webp", "webp", "image/webp", { width: 2048, height: 1536 }),
        output("avif", "avif", "image/avif", { width: 2048, height: 1536 }),
      ],
      metadata: {
        width: 4032,
        height: 3024,
        format: "jpeg",
        orientation: 6,
        hasAlpha: false,
        colourSpace: "srgb",
        iccProfile: "Display P3",
        exif: {
          make: "Apple",
          model: "iPhone 15 Pro",
          lens: "iPhone 15 Pro back triple camera 6.765mm f/1.78",
          takenAt: "2026-06-01T18:22:10.000Z",
          exposureTime: 0.0083,
          fNumber: 1.78,
          iso: 80,
          focalLength: 6.765,
        },
        gps: { present: true, stripped: true },
        thumbhash: "3OcRJYB4d3h/iIeHeEh3eIhw+j2w",
        dominantColour: "#7a8c9e",
      },
    };
  }
  if (type === "video") {
    const folder = processed(key, "").slice(0, -1);
    return {
      ...base,
      media: { kind: "video", format: "mp4", mime: "video/mp4" },
      outputs: [
        {
          key: `${folder}/hls/master.m3u8`,
          variant: "hls_master",
          contentType: "application/vnd.apple.mpegurl",
          bytes: 412,
        },
        ...[480, 720, 1080].map((height) => ({
          key: `${folder}/hls/${height}p/index.m3u8`,
          variant: "hls_playlist",
          contentType: "application/vnd.apple.mpegurl",
          bytes: 1_200,
          width: Math.round((height * 16) / 9),
          height,
          durationSec: 31.4,
        })),
        output("poster", "jpg", "image/jpeg", { width: 1280, height: 720 }),
        output("poster_webp", "webp", "image/webp", { width: 1280, height: 720 }),
      ],
      metadata: {
        container: "mov,mp4,m4a,3gp,3g2,mj2",
        durationSec: 31.4,
        width: 1920,
        height: 1080,
        rotation: 0,
        fps: 30,
        videoCodec: "h264",
        audioCodec: "aac",
        bitDepth: 8,
        hdr: null,
        rungs: [
          { height: 480, videoKbps: 1400 },
          { height: 720, videoKbps: 2800 },
          { height: 1080, videoKbps: 5000 },
        ],
        segments: 24,
        poster: { source: "frame", atSec: 3.14 },
      },
    };
  }
  if (type === "audio") {
    return {
      ...base,
      media: { kind: "audio", format: "mp3", mime: "audio/mpeg" },
      outputs: [
        output("mp3", "mp3", "audio/mpeg", { durationSec: 184.2 }),
        output("aac", "m4a", "audio/mp4", { durationSec: 184.2 }),
        output("ogg", "ogg", "audio/ogg", { durationSec: 184.2 }),
        output("waveform", "json", "application/json"),
        output("waveform", "dat", "application/octet-stream"),
        output("waveform_png", "png", "image/png", { width: 1800, height: 280 }),
      ],
      metadata: {
        durationSec: 184.2,
        codec: "MPEG 1 Layer 3",
        sampleRate: 44100,
        channels: 2,
        bitrateKbps: 320,
        tags: { title: "Field recording 12", artist: "Unknown", album: "Uploads", year: 2026 },
        transcodes: ["mp3:libmp3lame@192k", "aac:aac@160k", "ogg:libopus@96k"],
      },
    };
  }
  return {
    ...base,
    media: { kind: "document", format: "pdf", mime: "application/pdf" },
    outputs: [
      output("thumb", "webp", "image/webp", { width: 300, height: 424 }),
      output("page_1", "webp", "image/webp", { width: 1024, height: 1448 }),
      output("page_2", "webp", "image/webp", { width: 1024, height: 1448 }),
      output("page_3", "webp", "image/webp", { width: 1024, height: 1448 }),
      output("text", "txt", "text/plain; charset=utf-8"),
    ],
    metadata: {
      pages: 12,
      pageSize: { widthPt: 595, heightPt: 842 },
      pdfVersion: "1.7",
      info: { title: "Quarterly report", producer: "LibreOffice 7.5", created: "2026-03-02T09:00:00Z" },
      encrypted: false,
      tagged: true,
      forms: false,
      javascript: false,
      words: 4_812,
      characters: 29_104,
    },
  };
}

/** The timeline entries a worker appends between claim and its outcome, for this type. */
function stepsFor(type: string, atMs: number, durationMs: number, source: JobSource): TimelineEntry[] {
  const names: Array<[string, Record<string, unknown>]> = [
    ["downloading", { bucket: source.bucket, key: source.key }],
    ["downloaded", { bytes: source.size }],
    [
      "detected",
      {
        kind: type,
        format: type === "image" ? "jpeg" : type === "video" ? "mp4" : type === "audio" ? "mp3" : "pdf",
        processor: type,
      },
    ],
    ["processing", { processor: type }],
    ...(type === "video" || type === "audio"
      ? ([
          ["probed", { codec: "h264", durationSec: 31.4 }],
          ["planned", { rungs: 3 }],
        ] as Array<[string, Record<string, unknown>]>)
      : ([["inspected", { width: 4032, height: 3024 }]] as Array<[string, Record<string, unknown>]>)),
    ["encoded", { outputs: 6, elapsedMs: Math.round(durationMs * 0.7) }],
    ["processed", { outputs: 6 }],
    ["manifest-written", { key: `${source.key}.manifest.json` }],
  ];
  return names.map(([event, detail], index) => ({
    at: new Date(atMs + Math.round((durationMs * (index + 1)) / (names.length + 1))).toISOString(),
    event,
    detail,
  }));
}

/**
 * Writes `count` jobs, `parallel` at a time. `setClock` moves the store's clock: every store
 * call reads it synchronously when made, so calls in flight keep their own time.
 */
export async function loadSyntheticJobs(
  store: JobStore,
  redis: Redis,
  mix: SyntheticMix,
  count: number,
  setClock: (ms: number) => void,
  options: { parallel?: number; onProgress?: (done: number) => void } = {},
): Promise<SeededJob[]> {
  const sample: SeededJob[] = [];
  const sampleEvery = Math.max(1, Math.floor(count / 20_000));
  const parallel = options.parallel ?? 200;
  let next = 0;
  let done = 0;
  const one = async (index: number) => {
    // One generator per job: the mix does not depend on how the lanes interleave.
    const random = prng(42 + index * 7919);
    const createdAtMs = mix.startMs + Math.floor((mix.spanMs * index) / count);
    const status = pick(random, STATUS_WEIGHTS);
    const detectedType = pick(random, TYPE_WEIGHTS);
    const tenantId = pickTenant(random, mix.tenants);
    const key = `tenants/${tenantId}/users/u${Math.floor(random() * 500)}/media/${Math.floor(createdAtMs / 1000)}-${index.toString(36)}-upload.${detectedType === "image" ? "jpg" : detectedType === "video" ? "mp4" : detectedType === "audio" ? "mp3" : "pdf"}`;
    const source: JobSource = {
      bucket: "media-uploads",
      key,
      size: Math.round(50_000 + random() * 20_000_000),
      eTag: Math.floor(random() * 2 ** 52)
        .toString(16)
        .padStart(32, "0"),
    };
    const id = jobIdFor(source);
    const userId = key.split("/")[3]!;
    const durationMs = Math.round(200 + random() * (detectedType === "video" ? 60_000 : 4_000));
    let type = detectedType;
    setClock(createdAtMs);
    if (status === "queued" || (status === "cancelled" && random() < 0.5)) {
      type = "pending";
      await store.enqueue({ id, source, tenantId, userId, via: "intake" });
      if (status === "cancelled") {
        setClock(createdAtMs + 5_000);
        await store.requestCancel(id, { by: "ops", via: "api" });
      }
    } else {
      const claim = await store.claim({ id, source, tenantId, userId, messageId: `m-${index}` });
      const failedEarly = status === "failed" && random() < 0.3;
      if (failedEarly) type = "pending";
      else await store.setType(id, type);
      const steps = stepsFor(type, createdAtMs, durationMs, source).slice(
        0,
        status === "completed" ? undefined : failedEarly ? 1 : 4,
      );
      if (steps.length > 0)
        await redis.rpush(`${store.keyPrefix}job:${id}:timeline`, ...steps.map((entry) => JSON.stringify(entry)));
      setClock(createdAtMs + durationMs);
      if (status === "completed") {
        await store.complete(id, claim.leaseToken, resultFor(type, key, random), createdAtMs);
        setClock(createdAtMs + durationMs + 40);
        await store.markPublished(
          id,
          `ev${index.toString(16).padStart(30, "0")}`,
          "completed",
          createdAtMs + durationMs,
          { topicArn: "arn:aws:sns:us-east-1:123456789012:media-job-events" },
        );
      } else if (status === "failed") {
        await store.fail(id, claim.leaseToken, ERRORS[Math.floor(random() * ERRORS.length)]!, createdAtMs);
      } else if (status === "cancelled") {
        await store.fail(
          id,
          claim.leaseToken,
          { category: "cancelled", code: "cancelled", message: "job was cancelled", retryable: false },
          createdAtMs,
        );
      }
    }
    if (index % sampleEvery === 0) sample.push({ id, status, type, tenantId, key, createdAtMs });
    done += 1;
    if (done % 10_000 === 0) options.onProgress?.(done);
  };
  const lane = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return sample;
}
