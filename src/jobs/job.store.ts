import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { JobErrorInfo } from "../errors.ts";
import { claimScript, enqueueScript, markAnnouncedScript, renewLeaseScript, requestCancelScript, setTypeScript, transitionScript } from "./job.scripts.ts";
import { JOB_STATUSES, type JobRecord, type JobSource, type JobStatus, type TimelineEntry } from "./job.model.ts";

/** The Redis job store; the key layout and every transition are documented in job.scripts.ts. */

export type ClaimOutcome = "claimed" | "busy" | "completed" | "failed" | "cancelled";

export interface ClaimRequest {
  id: string;
  source: JobSource;
  tenantId: string | undefined;
  userId: string | undefined;
  messageId: string;
}

export interface Claim {
  outcome: ClaimOutcome;
  attempts: number;
  /** The lease token; only transitions that present it are applied. */
  owner: string;
  /** With `busy`: the SQS message id the current holder is working from. */
  holderMessageId?: string;
}

export interface JobStoreOptions {
  keyPrefix: string;
  statusTtlSec: number;
  leaseTtlMs: number;
  workerId: string;
}

export interface ListQuery {
  status?: JobStatus;
  type?: string;
  tenantId?: string;
  /** Epoch ms bounds on createdAt, inclusive. */
  since?: number;
  until?: number;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** What stats read of a job: no timeline, no result. */
export interface JobSummary {
  id: string;
  status: JobStatus;
  type: string;
  createdAtMs: number;
  finishedAtMs?: number;
  durationMs?: number;
  errorCategory?: JobErrorInfo["category"];
}

export class JobStore {
  readonly redis: Redis;
  private readonly options: JobStoreOptions;

  constructor(redis: Redis, options: JobStoreOptions) {
    this.redis = redis;
    this.options = options;
  }

  private key(...parts: string[]): string {
    return `${this.options.keyPrefix}${parts.join(":")}`;
  }

  private jobKeys(id: string): [string, string, string] {
    return [this.key("job", id), this.key("lease", id), this.key("job", id, "timeline")];
  }

  get cancelChannel(): string {
    return this.key("cancel");
  }

  /** Idempotent claim of the job for one delivery (see CLAIM in job.scripts.ts). */
  async claim(request: ClaimRequest): Promise<Claim> {
    const owner = randomUUID();
    const now = Date.now();
    const reply = (await claimScript.run(this.redis, this.jobKeys(request.id), [
      this.options.keyPrefix,
      request.id,
      owner,
      now,
      this.options.leaseTtlMs,
      this.options.statusTtlSec,
      JSON.stringify(request.source),
      request.tenantId ?? "",
      request.userId ?? "",
      request.messageId,
      this.options.workerId,
      new Date(now).toISOString(),
    ])) as [ClaimOutcome, number, string, string?];
    return { outcome: reply[0], attempts: Number(reply[1]), owner, ...(reply[3] ? { holderMessageId: reply[3] } : {}) };
  }

  async renewLease(id: string, owner: string): Promise<boolean> {
    const [, lease] = this.jobKeys(id);
    return (await renewLeaseScript.run(this.redis, [lease], [owner, this.options.leaseTtlMs])) === 1;
  }

  async setType(id: string, type: string): Promise<void> {
    await setTypeScript.run(this.redis, [this.key("job", id)], [this.options.keyPrefix, id, type]);
  }

  /** Appends a timeline entry. Not a state change, so it needs no lease. */
  async appendTimeline(id: string, event: string, detail?: Record<string, unknown>): Promise<void> {
    const entry: TimelineEntry = { at: new Date().toISOString(), event, ...(detail ? { detail } : {}) };
    await this.redis.rpush(this.key("job", id, "timeline"), JSON.stringify(entry));
  }

  async setProgress(id: string, owner: string, percent: number): Promise<void> {
    // Guarded by the lease so a stale worker's progress never shows on a newer attempt.
    const [job, lease] = this.jobKeys(id);
    const holder = await this.redis.get(lease);
    if (holder === owner) await this.redis.hset(job, "progress", String(Math.round(percent)));
  }

  async complete(id: string, owner: string, result: unknown, startedAtMs: number): Promise<boolean> {
    const now = Date.now();
    return this.transition(id, owner, ["processing"], "completed", {
      result: JSON.stringify(result),
      progress: "100",
      finishedAt: String(now),
      durationMs: String(now - startedAtMs),
      error: "",
    }, "completed", { durationMs: now - startedAtMs });
  }

  async fail(id: string, owner: string, error: JobErrorInfo, startedAtMs: number, detail?: Record<string, unknown>): Promise<boolean> {
    const now = Date.now();
    const status: JobStatus = error.category === "cancelled" ? "cancelled" : "failed";
    return this.transition(id, owner, ["processing"], status, {
      error: JSON.stringify(error),
      finishedAt: String(now),
      durationMs: String(now - startedAtMs),
    }, status, { code: error.code, category: error.category, message: error.message, ...detail });
  }

  /** Back to queued: a transient failure that will be retried, or a job released on shutdown. */
  async release(id: string, owner: string, event: string, error?: JobErrorInfo, detail?: Record<string, unknown>): Promise<boolean> {
    return this.transition(id, owner, ["processing"], "queued", {
      progress: "0",
      ...(error ? { error: JSON.stringify(error) } : {}),
    }, event, { ...(error ? { code: error.code, category: error.category, message: error.message } : {}), ...detail });
  }

  /** API-side retry: failed/cancelled (or completed with force) → queued. */
  async requeue(id: string, from: JobStatus[], detail?: Record<string, unknown>): Promise<boolean> {
    return this.transition(id, "", from, "queued", { progress: "0", error: "", result: "", finishedAt: "", durationMs: "", cancelRequested: "" }, "retry-requested", detail);
  }

  /**
   * API-side: records that a retry's message could not be put on the queue, so the job does not
   * sit `queued` with nothing on its way to a worker (queued → failed, see TRANSITION).
   */
  async failQueued(id: string, error: JobErrorInfo): Promise<boolean> {
    return this.transition(id, "", ["queued"], "failed", { error: JSON.stringify(error), finishedAt: String(Date.now()) }, "failed", {
      code: error.code,
      category: error.category,
      message: error.message,
    });
  }

  /** API-side: a `queued` record for an event just sent to the queue (see ENQUEUE). */
  async enqueue(request: { id: string; source: JobSource; tenantId: string | undefined; userId: string | undefined; via: string }): Promise<{ created: boolean; status: JobStatus }> {
    const [job, , timeline] = this.jobKeys(request.id);
    const now = Date.now();
    const [outcome, status] = (await enqueueScript.run(this.redis, [job, timeline], [
      this.options.keyPrefix,
      request.id,
      now,
      this.options.statusTtlSec,
      JSON.stringify(request.source),
      request.tenantId ?? "",
      request.userId ?? "",
      new Date(now).toISOString(),
      request.via,
    ])) as [string, JobStatus];
    return { created: outcome === "created", status };
  }

  /**
   * The fields stats need of every job created in [sinceMs, untilMs], newest first, at most
   * `max` of them: one ZRANGE and one pipelined HMGET per job, no timelines. Read-only.
   */
  async summaries(sinceMs: number, untilMs: number, max: number): Promise<{ jobs: JobSummary[]; truncated: boolean }> {
    const ids = await this.redis.zrevrangebyscore(this.key("idx", "created"), untilMs, sinceMs, "LIMIT", 0, max + 1);
    const truncated = ids.length > max;
    const wanted = ids.slice(0, max);
    const pipeline = this.redis.pipeline();
    for (const id of wanted) pipeline.hmget(this.key("job", id), "status", "type", "error", "durationMs", "createdAt", "finishedAt");
    const replies = wanted.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const jobs: JobSummary[] = [];
    replies.forEach(([error, fields], index) => {
      const [status, type, jobError, durationMs, createdAt, finishedAt] = (error ? [] : (fields as Array<string | null>));
      if (!status || !JOB_STATUSES.includes(status as JobStatus)) return; // expired between the two reads
      jobs.push({
        id: wanted[index]!,
        status: status as JobStatus,
        type: type ?? "pending",
        createdAtMs: Number(createdAt ?? 0),
        ...(finishedAt ? { finishedAtMs: Number(finishedAt) } : {}),
        ...(durationMs ? { durationMs: Number(durationMs) } : {}),
        ...(jobError ? { errorCategory: (JSON.parse(jobError) as JobErrorInfo).category } : {}),
      });
    });
    return { jobs, truncated };
  }

  async requestCancel(id: string): Promise<"missing" | JobStatus> {
    const [job, , timeline] = this.jobKeys(id);
    const now = Date.now();
    return (await requestCancelScript.run(this.redis, [job, timeline], [this.options.keyPrefix, id, now, new Date(now).toISOString()])) as "missing" | JobStatus;
  }

  private async transition(
    id: string,
    owner: string,
    from: JobStatus[],
    to: JobStatus,
    fields: Record<string, string>,
    event: string,
    detail?: Record<string, unknown>,
  ): Promise<boolean> {
    const now = Date.now();
    const entry: TimelineEntry = { at: new Date(now).toISOString(), event, ...(detail && Object.keys(detail).length ? { detail } : {}) };
    const applied = await transitionScript.run(this.redis, this.jobKeys(id), [
      this.options.keyPrefix,
      id,
      owner,
      from.join(","),
      to,
      now,
      this.options.statusTtlSec,
      JSON.stringify(fields),
      JSON.stringify(entry),
      this.options.workerId,
      "0",
    ]);
    return applied === 1;
  }

  /**
   * Records that `eventId` announced the job's current terminal state (see MARK_ANNOUNCED);
   * false when the job has left that state since. `finishedAtMs` is the state's finishedAt.
   */
  async markAnnounced(id: string, eventId: string, status: JobStatus, finishedAtMs: number, detail: Record<string, unknown>): Promise<boolean> {
    const [job, , timeline] = this.jobKeys(id);
    const reply = await markAnnouncedScript.run(this.redis, [job, timeline], [eventId, status, String(finishedAtMs), new Date().toISOString(), JSON.stringify({ eventId, ...detail })]);
    return reply === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [jobKey, , timelineKey] = this.jobKeys(id);
    const [hash, timeline] = await Promise.all([this.redis.hgetall(jobKey), this.redis.lrange(timelineKey, 0, -1)]);
    if (!hash.status) return undefined;
    return toRecord(hash, timeline.map((line) => JSON.parse(line) as TimelineEntry));
  }

  /** Newest first; the cursor is the (createdAt, id) of the last item, stable while jobs are added. */
  async list(query: ListQuery): Promise<{ jobs: JobRecord[]; nextCursor: string | undefined }> {
    const index = query.status
      ? this.key("idx", "status", query.status)
      : query.type
        ? this.key("idx", "type", query.type)
        : query.tenantId
          ? this.key("idx", "tenant", query.tenantId)
          : this.key("idx", "created");
    let max = query.until !== undefined ? String(query.until) : "+inf";
    let skipThrough: string | undefined;
    if (query.cursor) {
      const [score, id] = Buffer.from(query.cursor, "base64url").toString().split(":");
      if (score && id) {
        max = score;
        skipThrough = id;
      }
    }
    const min = query.since !== undefined ? String(query.since) : "-inf";
    const jobs: JobRecord[] = [];
    let offset = 0;
    const pageSize = Math.max(query.limit * 2, 20);
    for (;;) {
      const ids = await this.redis.zrevrangebyscore(index, max, min, "WITHSCORES", "LIMIT", offset, pageSize);
      if (ids.length === 0) break;
      offset += ids.length / 2;
      for (let i = 0; i < ids.length; i += 2) {
        const id = ids[i]!;
        if (skipThrough !== undefined) {
          // Within the cursor's score, members come in reverse lexical order: skip up to and including it.
          if (ids[i + 1] === max && id >= skipThrough) continue;
        }
        const job = await this.get(id);
        if (!job) continue;
        if (query.type && job.type !== query.type) continue;
        if (query.tenantId && job.tenantId !== query.tenantId) continue;
        if (query.status && job.status !== query.status) continue;
        jobs.push(job);
        if (jobs.length === query.limit + 1) {
          jobs.pop();
          const last = jobs[jobs.length - 1]!;
          const cursor = Buffer.from(`${Date.parse(last.createdAt)}:${last.id}`).toString("base64url");
          return { jobs, nextCursor: cursor };
        }
      }
    }
    return { jobs, nextCursor: undefined };
  }
}

function toRecord(hash: Record<string, string>, timeline: TimelineEntry[]): JobRecord {
  const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);
  const status = JOB_STATUSES.includes(hash.status as JobStatus) ? (hash.status as JobStatus) : "queued";
  const record: JobRecord = {
    id: hash.id ?? "",
    type: hash.type ?? "pending",
    status,
    source: hash.source ? (JSON.parse(hash.source) as JobSource) : { bucket: "", key: "" },
    attempts: Number(hash.attempts ?? 0),
    progress: Number(hash.progress ?? 0),
    timeline,
    createdAt: iso(hash.createdAt) ?? new Date(0).toISOString(),
  };
  if (hash.tenantId) record.tenantId = hash.tenantId;
  if (hash.userId) record.userId = hash.userId;
  if (hash.result) record.result = JSON.parse(hash.result) as unknown;
  if (hash.error) record.error = JSON.parse(hash.error) as JobErrorInfo;
  const startedAt = iso(hash.startedAt);
  if (startedAt) record.startedAt = startedAt;
  const finishedAt = iso(hash.finishedAt);
  if (finishedAt) record.finishedAt = finishedAt;
  if (hash.durationMs) record.durationMs = Number(hash.durationMs);
  if (hash.messageId) record.messageId = hash.messageId;
  if (hash.workerId) record.workerId = hash.workerId;
  if (hash.cancelRequested === "1") record.cancelRequested = true;
  if (hash.announced) record.announcedEventId = hash.announced;
  return record;
}
