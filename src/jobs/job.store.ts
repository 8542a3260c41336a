import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { JobErrorInfo } from "../errors.ts";
import { CounterReader } from "./job-counters.ts";
import { listPageScript, removeScript, searchKeyScript, SUMMARY_FIELDS, sweepScript } from "./job-query.scripts.ts";
import {
  claimScript,
  enqueueScript,
  markPublishedScript,
  renewLeaseScript,
  requestCancelScript,
  setProgressScript,
  setTypeScript,
  transitionScript,
} from "./job.scripts.ts";
import {
  JOB_STATUSES,
  terminalStatusOf,
  type JobRecord,
  type JobSource,
  type JobStatus,
  type TimelineEntry,
} from "./job.model.ts";

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
  leaseToken: string;
  /** With `busy`: the SQS message id the current holder is working from. */
  holderMessageId?: string;
}

export interface LeaseRenewal {
  /** False when the lease lapsed or another worker took the job over. */
  held: boolean;
  /** The durable cancel flag: set by a cancel request, whether or not its pub/sub hint arrived. */
  cancelRequested: boolean;
}

export interface JobStoreOptions {
  keyPrefix: string;
  statusTtlSec: number;
  leaseTtlMs: number;
  workerId: string;
  /** Epoch ms; tests and the benchmark move it, everything else uses the real one. */
  clock?: () => number;
}

/** A listed job: everything but the timeline and the result. */
export type JobListItem = Omit<JobRecord, "timeline" | "result">;

/** Position after the last job of a page (newest-first lists). */
export interface ListCursor {
  createdAtMs: number;
  id: string;
}

export interface ListQuery {
  status?: JobStatus;
  type?: string;
  tenantId?: string;
  /** Epoch ms bounds on createdAt, inclusive. */
  since?: number;
  until?: number;
  limit: number;
  cursor?: ListCursor;
}

export interface KeySearchQuery extends Omit<ListQuery, "cursor"> {
  /** Exactly this source key, or every key starting with `keyPrefix`. */
  key?: string;
  keyPrefix?: string;
  /** `resumeAfter` of the previous page. */
  after?: string;
}

/** Who asked for an API-side change, for the job's timeline (never the token itself). */
export interface Actor {
  by: string;
  via: string;
}

/** At most this many index members one key search reads before it answers (with a resume point). */
const KEY_SEARCH_SCAN_MAX = 1_000;

export class JobStore {
  readonly redis: Redis;
  /** The time-bucketed counters the transitions keep (what stats read). */
  readonly counters: CounterReader;
  private readonly options: JobStoreOptions;
  private readonly now: () => number;

  constructor(redis: Redis, options: JobStoreOptions) {
    this.redis = redis;
    this.options = options;
    this.now = options.clock ?? Date.now;
    this.counters = new CounterReader(redis, options.keyPrefix);
  }

  get keyPrefix(): string {
    return this.options.keyPrefix;
  }

  private key(...parts: string[]): string {
    return `${this.options.keyPrefix}${parts.join(":")}`;
  }

  private jobKeys(id: string): [string, string, string] {
    return [this.key("job", id), this.key("lease", id), this.key("job", id, "timeline")];
  }

  /** The five arguments every transition script starts with (see job.scripts.ts). */
  private head(id: string, now: number): Array<string | number> {
    return [this.options.keyPrefix, id, now, new Date(now).toISOString(), this.options.statusTtlSec * 1000];
  }

  get cancelChannel(): string {
    return this.key("cancel");
  }

  /** Idempotent claim of the job for one delivery (see CLAIM in job.scripts.ts). */
  async claim(request: ClaimRequest): Promise<Claim> {
    const leaseToken = randomUUID();
    const reply = (await claimScript.run(this.redis, this.jobKeys(request.id), [
      ...this.head(request.id, this.now()),
      leaseToken,
      this.options.leaseTtlMs,
      JSON.stringify(request.source),
      request.source.key,
      request.tenantId ?? "",
      request.userId ?? "",
      request.messageId,
      this.options.workerId,
    ])) as [ClaimOutcome, number, string, string?];
    return {
      outcome: reply[0],
      attempts: Number(reply[1]),
      leaseToken,
      ...(reply[3] ? { holderMessageId: reply[3] } : {}),
    };
  }

  /**
   * Extends the lease if still ours and reads the durable cancel flag (RENEW). `leaseMs`
   * (default JOB_LEASE_TTL) is longer for a chunked video, whose lease is held for all its chunk tasks.
   */
  async renewLease(id: string, leaseToken: string, leaseMs = this.options.leaseTtlMs): Promise<LeaseRenewal> {
    const [job, lease] = this.jobKeys(id);
    const [held, cancel] = (await renewLeaseScript.run(this.redis, [lease, job], [leaseToken, leaseMs])) as [
      number,
      number,
    ];
    return { held: held === 1, cancelRequested: cancel === 1 };
  }

  async setType(id: string, type: string): Promise<void> {
    await setTypeScript.run(this.redis, [this.key("job", id)], [...this.head(id, this.now()), type]);
  }

  /** Appends a timeline entry. Not a state change, so it needs no lease. */
  async appendTimeline(id: string, event: string, detail?: Record<string, unknown>): Promise<void> {
    const entry: TimelineEntry = { at: new Date(this.now()).toISOString(), event, ...(detail ? { detail } : {}) };
    await this.redis.rpush(this.key("job", id, "timeline"), JSON.stringify(entry));
  }

  /** One round trip; only the lease holder's progress is written, so a stale worker's never shows on a newer attempt. */
  async setProgress(id: string, leaseToken: string, percent: number): Promise<boolean> {
    const [job, lease] = this.jobKeys(id);
    return (await setProgressScript.run(this.redis, [lease, job], [leaseToken, String(Math.round(percent))])) === 1;
  }

  async complete(id: string, leaseToken: string, result: unknown, startedAtMs: number): Promise<boolean> {
    const now = this.now();
    return this.transition(
      id,
      leaseToken,
      ["processing"],
      "completed",
      {
        result: JSON.stringify(result),
        progress: "100",
        finishedAt: String(now),
        durationMs: String(now - startedAtMs),
        error: "",
      },
      "completed",
      { durationMs: now - startedAtMs },
    );
  }

  async fail(
    id: string,
    leaseToken: string,
    error: JobErrorInfo,
    startedAtMs: number,
    detail?: Record<string, unknown>,
  ): Promise<boolean> {
    const now = this.now();
    const status: JobStatus = terminalStatusOf(error);
    return this.transition(
      id,
      leaseToken,
      ["processing"],
      status,
      {
        error: JSON.stringify(error),
        finishedAt: String(now),
        durationMs: String(now - startedAtMs),
      },
      status,
      { code: error.code, category: error.category, message: error.message, ...detail },
    );
  }

  /** Back to queued: a transient failure that will be retried, or a job released on shutdown. */
  async release(
    id: string,
    leaseToken: string,
    event: string,
    error?: JobErrorInfo,
    detail?: Record<string, unknown>,
  ): Promise<boolean> {
    return this.transition(
      id,
      leaseToken,
      ["processing"],
      "queued",
      {
        progress: "0",
        ...(error ? { error: JSON.stringify(error) } : {}),
      },
      event,
      { ...(error ? { code: error.code, category: error.category, message: error.message } : {}), ...detail },
    );
  }

  /** API-side retry: failed/cancelled (or completed with force) → queued. */
  async requeue(id: string, from: JobStatus[], detail?: Record<string, unknown>): Promise<boolean> {
    return this.transition(
      id,
      "",
      from,
      "queued",
      { progress: "0", error: "", result: "", finishedAt: "", durationMs: "", cancelRequested: "" },
      "retry-requested",
      detail,
    );
  }

  /**
   * API-side: records that a retry's message could not be put on the queue, so the job does not
   * sit `queued` with nothing on its way to a worker (queued → failed, see TRANSITION).
   */
  async failQueued(id: string, error: JobErrorInfo): Promise<boolean> {
    return this.transition(
      id,
      "",
      ["queued"],
      "failed",
      { error: JSON.stringify(error), finishedAt: String(this.now()) },
      "failed",
      {
        code: error.code,
        category: error.category,
        message: error.message,
      },
    );
  }

  /** A `queued` record for an event seen before a worker received it (see ENQUEUE). */
  async enqueue(request: {
    id: string;
    source: JobSource;
    tenantId: string | undefined;
    userId: string | undefined;
    via: string;
    by?: string;
  }): Promise<{ created: boolean; status: JobStatus }> {
    const [job, , timeline] = this.jobKeys(request.id);
    const [outcome, status] = (await enqueueScript.run(
      this.redis,
      [job, timeline],
      [
        ...this.head(request.id, this.now()),
        JSON.stringify(request.source),
        request.source.key,
        request.tenantId ?? "",
        request.userId ?? "",
        JSON.stringify({ via: request.via, ...(request.by ? { by: request.by } : {}) }),
      ],
    )) as [string, JobStatus];
    return { created: outcome === "created", status };
  }

  /** Durable cancel (REQUEST_CANCEL); returns the status it found. */
  async requestCancel(id: string, actor: Actor = { by: "unknown", via: "api" }): Promise<"missing" | JobStatus> {
    const [job, , timeline] = this.jobKeys(id);
    return (await requestCancelScript.run(
      this.redis,
      [job, timeline],
      [...this.head(id, this.now()), JSON.stringify(actor)],
    )) as "missing" | JobStatus;
  }

  private async transition(
    id: string,
    leaseToken: string,
    from: JobStatus[],
    to: JobStatus,
    fields: Record<string, string>,
    event: string,
    detail?: Record<string, unknown>,
  ): Promise<boolean> {
    const now = this.now();
    const entry: TimelineEntry = {
      at: new Date(now).toISOString(),
      event,
      ...(detail && Object.keys(detail).length ? { detail } : {}),
    };
    const applied = await transitionScript.run(this.redis, this.jobKeys(id), [
      ...this.head(id, now),
      leaseToken,
      from.join(","),
      to,
      JSON.stringify(fields),
      JSON.stringify(entry),
      this.options.workerId,
    ]);
    return applied === 1;
  }

  /**
   * Records that `eventId` published the job's current terminal state (see MARK_PUBLISHED);
   * false when the job has left that state since. `finishedAtMs` is the state's finishedAt.
   */
  async markPublished(
    id: string,
    eventId: string,
    status: JobStatus,
    finishedAtMs: number,
    detail: Record<string, unknown>,
  ): Promise<boolean> {
    const [job, , timeline] = this.jobKeys(id);
    const reply = await markPublishedScript.run(
      this.redis,
      [job, timeline],
      [
        eventId,
        status,
        String(finishedAtMs),
        new Date(this.now()).toISOString(),
        JSON.stringify({ eventId, ...detail }),
      ],
    );
    return reply === 1;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const [jobKey, , timelineKey] = this.jobKeys(id);
    const [hash, timeline] = await Promise.all([this.redis.hgetall(jobKey), this.redis.lrange(timelineKey, 0, -1)]);
    if (!hash.status) return undefined;
    return {
      ...toListItem(hash),
      timeline: timeline.map((line) => JSON.parse(line) as TimelineEntry),
      ...(hash.result ? { result: JSON.parse(hash.result) as unknown } : {}),
    };
  }

  /** The job without timeline and result: one HMGET. */
  async summary(id: string): Promise<JobListItem | undefined> {
    const values = await this.redis.hmget(this.key("job", id), ...SUMMARY_FIELDS);
    if (!values[2]) return undefined;
    return toListItem(rowToHash([id, "0", ...values]));
  }

  /**
   * Newest first from the one index that matches the filters (LIST_PAGE): one round trip, the
   * cost of one page whatever the store holds. The cursor is the last job's (createdAt, id),
   * stable while jobs are added.
   */
  async list(query: ListQuery): Promise<{ jobs: JobListItem[]; nextCursor: ListCursor | undefined }> {
    let max = query.until ?? Number.POSITIVE_INFINITY;
    let after = "";
    if (query.cursor && query.cursor.createdAtMs <= max) {
      max = query.cursor.createdAtMs;
      after = query.cursor.id;
    }
    const rows = (await listPageScript.run(
      this.redis,
      [this.indexKey(query)],
      [
        this.key("job", ""),
        Number.isFinite(max) ? String(max) : "+inf",
        query.since !== undefined ? String(query.since) : "-inf",
        after,
        query.limit,
        ...SUMMARY_FIELDS,
      ],
    )) as Array<Array<string | null>>;
    const jobs = rows.slice(0, query.limit).map((row) => toListItem(rowToHash(row)));
    const last = jobs.at(-1);
    return {
      jobs,
      nextCursor:
        rows.length > query.limit && last ? { createdAtMs: Date.parse(last.createdAt), id: last.id } : undefined,
    };
  }

  /** Jobs whose source key is `key` or starts with `keyPrefix`, in key order, filtered like a list (SEARCH_KEY). */
  async searchByKey(query: KeySearchQuery): Promise<{ jobs: JobListItem[]; resumeAfter: string | undefined }> {
    const exact = query.key;
    const text = exact ?? query.keyPrefix ?? "";
    const start =
      query.after !== undefined
        ? Buffer.from(`(${query.after}`)
        : Buffer.from(exact !== undefined ? `[${exact}\u0000` : `[${text}`);
    // Bytewise bounds: 0xff sorts after every UTF-8 byte a key can hold.
    const stop =
      exact !== undefined
        ? Buffer.from(`(${exact}\u0001`)
        : text === ""
          ? Buffer.from("+")
          : Buffer.concat([Buffer.from(`(${text}`), Buffer.from([0xff])]);
    const [rows, resume] = (await searchKeyScript.run(
      this.redis,
      [this.key("idx", "key")],
      [
        this.key("job", ""),
        start,
        stop,
        exact ?? "",
        query.tenantId ?? "",
        query.status ?? "",
        query.type ?? "",
        query.since !== undefined ? String(query.since) : "",
        query.until !== undefined ? String(query.until) : "",
        query.limit,
        KEY_SEARCH_SCAN_MAX,
        ...SUMMARY_FIELDS,
      ],
    )) as [Array<Array<string | null>>, string];
    return { jobs: rows.map((row) => toListItem(rowToHash(row))), resumeAfter: resume ? resume : undefined };
  }

  /** Removes up to `batch` jobs past their expiry, with every index entry (SWEEP). */
  async sweep(batch = 500): Promise<number> {
    return Number(await sweepScript.run(this.redis, [], [this.options.keyPrefix, this.now(), batch]));
  }

  /** Deletes terminal jobs now, with every index entry (REMOVE); returns the ids left because they were not terminal. */
  async remove(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await removeScript.run(this.redis, [], [this.options.keyPrefix, ...ids])) as string[];
  }

  /** Jobs per status in the store right now (the gauges the transitions keep). */
  async countsByStatus(): Promise<Record<JobStatus, number>> {
    const hash = await this.redis.hgetall(this.key("stats", "now"));
    return Object.fromEntries(JOB_STATUSES.map((status) => [status, Math.max(0, Number(hash[status] ?? 0))])) as Record<
      JobStatus,
      number
    >;
  }

  /** The key of the index a list with these filters reads (layout in job.scripts.ts). */
  private indexKey(query: Pick<ListQuery, "status" | "type" | "tenantId">): string {
    const parts = [
      query.status ? `s=${query.status}` : "",
      query.type ? `t=${query.type}` : "",
      query.tenantId !== undefined ? `n=${query.tenantId}` : "",
    ].filter(Boolean);
    return this.key("idx", parts.length > 0 ? parts.join(":") : "all");
  }
}

/** A LIST_PAGE / SEARCH_KEY row {id, score, values of SUMMARY_FIELDS…} as the hash it came from. */
function rowToHash(row: Array<string | null>): Record<string, string> {
  const hash: Record<string, string> = {};
  SUMMARY_FIELDS.forEach((field, index) => {
    const value = row[index + 2];
    if (value !== null && value !== undefined) hash[field] = value;
  });
  return hash;
}

function toListItem(hash: Record<string, string>): JobListItem {
  const iso = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : undefined);
  const status = JOB_STATUSES.includes(hash.status as JobStatus) ? (hash.status as JobStatus) : "queued";
  const item: JobListItem = {
    id: hash.id ?? "",
    type: hash.type ?? "pending",
    status,
    source: hash.source ? (JSON.parse(hash.source) as JobSource) : { bucket: "", key: "" },
    attempts: Number(hash.attempts ?? 0),
    progress: Number(hash.progress ?? 0),
    createdAt: iso(hash.createdAt) ?? new Date(0).toISOString(),
  };
  if (hash.tenantId) item.tenantId = hash.tenantId;
  if (hash.userId) item.userId = hash.userId;
  if (hash.error) item.error = JSON.parse(hash.error) as JobErrorInfo;
  const startedAt = iso(hash.startedAt);
  if (startedAt) item.startedAt = startedAt;
  const finishedAt = iso(hash.finishedAt);
  if (finishedAt) item.finishedAt = finishedAt;
  if (hash.durationMs) item.durationMs = Number(hash.durationMs);
  if (hash.messageId) item.messageId = hash.messageId;
  if (hash.workerId) item.workerId = hash.workerId;
  if (hash.cancelRequested === "1") item.cancelRequested = true;
  if (hash.announced) item.announcedEventId = hash.announced;
  return item;
}
