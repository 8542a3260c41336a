import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric the product exposes. The names and labels are a contract with dashboards, alerts
 * and the KEDA prometheus trigger: change them only with a migration note.
 * Labels are few-valued: type ∈ processor names + pending, status ∈ job statuses,
 * category ∈ error categories, direction ∈ in/out, queue ∈ media/dlq, state ∈ visible/in_flight/delayed,
 * outcome ∈ published/failed, lane ∈ the lanes of MEDIA_LANES (`media` with one lane), reason ∈ lane/fair-share,
 * tenant ∈ at most 10 per lane (the ones with the most waiting work), duration ∈ the source-length
 * buckets of {@link videoDurationBucket}.
 */
export interface Metrics {
  registry: Registry;
  jobsTotal: Counter<"type" | "status">;
  jobDuration: Histogram<"type">;
  jobsInFlight: Gauge<"type">;
  jobErrors: Counter<"type" | "category">;
  bytesTotal: Counter<"type" | "direction">;
  queueMessages: Gauge<"queue" | "state">;
  messagesDropped: Counter<"reason">;
  messagesReceived: Counter;
  jobEvents: Counter<"status" | "outcome">;
  laneWait: Histogram<"lane">;
  laneJobs: Counter<"lane" | "status">;
  laneQueueMessages: Gauge<"lane" | "state">;
  laneForwards: Counter<"lane" | "reason">;
  laneTenantWaiting: Gauge<"lane" | "tenant">;
  videoTimeToPlayable: Histogram<"duration">;
  videoTimeToPublish: Histogram<"duration">;
  chunkSourceFetches: Counter<"source">;
}

/** The source-length label of the video time histograms: `<1m`, `1-10m`, `10-60m`, `>60m` (or `unknown`). */
export function videoDurationBucket(durationSec: number | undefined): string {
  if (durationSec === undefined || !Number.isFinite(durationSec)) return "unknown";
  if (durationSec < 60) return "<1m";
  if (durationSec < 600) return "1-10m";
  if (durationSec < 3600) return "10-60m";
  return ">60m";
}

const VIDEO_TIME_BUCKETS = [1, 2.5, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600, 7200];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    jobsTotal: new Counter({
      name: "media_jobs_total",
      help: "Jobs that reached a final outcome for this delivery, by media type and status.",
      labelNames: ["type", "status"],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "media_job_duration_seconds",
      help: "Wall time of a job from claim to completion, by media type.",
      labelNames: ["type"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    jobsInFlight: new Gauge({
      name: "media_jobs_in_flight",
      help: "Jobs being processed by this worker right now, by media type.",
      labelNames: ["type"],
      registers: [registry],
    }),
    jobErrors: new Counter({
      name: "media_job_errors_total",
      help: "Failed attempts by media type and error category (transient ones are retried).",
      labelNames: ["type", "category"],
      registers: [registry],
    }),
    bytesTotal: new Counter({
      name: "media_bytes_total",
      help: "Bytes downloaded (in) and uploaded (out), by media type.",
      labelNames: ["type", "direction"],
      registers: [registry],
    }),
    queueMessages: new Gauge({
      name: "media_queue_messages",
      help: "Messages in the SQS queues from GetQueueAttributes, by queue and state.",
      labelNames: ["queue", "state"],
      registers: [registry],
    }),
    messagesDropped: new Counter({
      name: "media_messages_dropped_total",
      help: "SQS messages or records removed without a job: test events, removals, output keys, unsafe keys, invalid bodies.",
      labelNames: ["reason"],
      registers: [registry],
    }),
    messagesReceived: new Counter({
      name: "media_messages_received_total",
      help: "SQS messages received by this worker.",
      registers: [registry],
    }),
    jobEvents: new Counter({
      name: "media_job_events_total",
      help: "Job events (MEDIA_PROCESSING_TOPIC_ARN) by the job status they announce and whether SNS took them; failed ones are retried with the message.",
      labelNames: ["status", "outcome"],
      registers: [registry],
    }),
    laneWait: new Histogram({
      name: "media_lane_wait_seconds",
      help: "Time from the upload's event reaching the first queue (its SentTimestamp, carried through forwards and deferrals) to its job starting, by lane.",
      labelNames: ["lane"],
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    laneJobs: new Counter({
      name: "media_lane_jobs_total",
      help: "Jobs that reached a final outcome for this delivery, by lane and status (throughput per lane).",
      labelNames: ["lane", "status"],
      registers: [registry],
    }),
    laneQueueMessages: new Gauge({
      name: "media_lane_queue_messages",
      help: "Messages in each lane's queue from GetQueueAttributes, by lane and state (visible, in_flight, delayed; backlog: everything in the lane's backlog queue, FAIR_SHARE_BACKLOG_QUEUE_URLS).",
      labelNames: ["lane", "state"],
      registers: [registry],
    }),
    laneForwards: new Counter({
      name: "media_lane_forwards_total",
      help: "Jobs this worker moved: to another lane (reason lane), back into their own lane later (reason fair-share), behind the queue to see past the look-ahead (reason probe), or to the lane's backlog queue past a full look-ahead (reason backlog), by destination lane.",
      labelNames: ["lane", "reason"],
      registers: [registry],
    }),
    laneTenantWaiting: new Gauge({
      name: "media_lane_tenant_waiting_messages",
      help: "Deferred messages not yet back, for the (at most 10) tenants with the most in each lane.",
      labelNames: ["lane", "tenant"],
      registers: [registry],
    }),
    videoTimeToPlayable: new Histogram({
      name: "media_video_time_to_playable_seconds",
      help: "From the claim that started a video's run to a playable master in S3 (chunked: the first chunks and the audio in; one pass: completion), by source length.",
      labelNames: ["duration"],
      buckets: VIDEO_TIME_BUCKETS,
      registers: [registry],
    }),
    videoTimeToPublish: new Histogram({
      name: "media_video_time_to_publish_seconds",
      help: "From the claim that started a video's run to its completed job (every rung finished, manifest published), by source length.",
      labelNames: ["duration"],
      buckets: VIDEO_TIME_BUCKETS,
      registers: [registry],
    }),
    chunkSourceFetches: new Counter({
      name: "media_chunk_source_fetches_total",
      help: "Chunk tasks of chunked videos by where their source came from: downloaded from S3, or kept by the worker from an earlier task or the plan of the same job (VIDEO_CHUNK_SOURCE_CACHE_SECONDS).",
      labelNames: ["source"],
      registers: [registry],
    }),
  };
}
