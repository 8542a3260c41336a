import { z } from "zod";

/**
 * The internal message of one chunk task of a chunked video (docs/chunked-video.md), sent by
 * the worker that planned the job to the queue (lane) the job arrived on:
 *
 * ```json
 * { "mediaProcessor": "video-chunk", "version": 1, "jobId": "3f2a9c…", "planId": "5b1c…",
 *   "part": "video", "chunkIndex": 2, "startSec": 60, "endSec": 90 }
 * ```
 * `part: "audio"` is the whole file's audio rendition, `chunkIndex` then being the number of
 * video chunks; `part: "stills"` is the poster and storyboard (`chunkIndex` = chunks + 1), kept
 * out of the audio task so that the video is playable without waiting for them. It carries no bucket, key, path or URL: the task looks the job
 * up in the Redis job store (its source bucket, key and ETag) and the plan stored beside it, so
 * a forged chunk body can at most re-run a chunk of a job that exists. `planId` names the plan
 * it belongs to; a task of an older plan is dropped. The time range is informational (the plan
 * is the authority) and lets logs and the timeline name the chunk without a Redis read.
 */
export const VIDEO_CHUNK_MARKER = "video-chunk";

const chunkTaskSchema = z
  .object({
    mediaProcessor: z.literal(VIDEO_CHUNK_MARKER),
    version: z.literal(1),
    jobId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
    planId: z.string().regex(/^[a-f0-9-]{8,64}$/),
    part: z.enum(["video", "audio", "stills"]),
    chunkIndex: z.number().int().min(0).max(10_000),
    startSec: z.number().nonnegative(),
    endSec: z.number().positive().nullable(),
  })
  .strict();

export type ChunkTask = z.infer<typeof chunkTaskSchema>;

/** The name of a task in the done-set and the part records: `v0`, `v1`, …, `audio`, `stills`. */
export function partName(task: Pick<ChunkTask, "part" | "chunkIndex">): string {
  return task.part === "video" ? `v${task.chunkIndex}` : task.part;
}

export function buildChunkTask(task: Omit<ChunkTask, "mediaProcessor" | "version">): string {
  const body: ChunkTask = { mediaProcessor: VIDEO_CHUNK_MARKER, version: 1, ...task };
  return JSON.stringify(chunkTaskSchema.parse(body));
}

export type ParsedChunkTask =
  | { kind: "not-a-chunk" }
  | { kind: "invalid"; detail: string }
  | { kind: "chunk"; task: ChunkTask };

/** A body is a chunk task when it is a JSON object whose `mediaProcessor` is "video-chunk"; anything else is left to the next parser. */
export function parseChunkTask(body: string | undefined): ParsedChunkTask {
  if (body === undefined || !body.includes(VIDEO_CHUNK_MARKER)) return { kind: "not-a-chunk" };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: "not-a-chunk" };
  }
  if (
    typeof json !== "object" ||
    json === null ||
    (json as { mediaProcessor?: unknown }).mediaProcessor !== VIDEO_CHUNK_MARKER
  )
    return { kind: "not-a-chunk" };
  const parsed = chunkTaskSchema.safeParse(json);
  if (!parsed.success) return { kind: "invalid", detail: parsed.error.issues[0]?.message ?? "invalid chunk task" };
  return { kind: "chunk", task: parsed.data };
}
