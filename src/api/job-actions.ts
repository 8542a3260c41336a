import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { fromAwsError, type JobErrorInfo } from "../errors.ts";
import type { Owner } from "../s3-events/key-rules.ts";
import type { DroppedRecord } from "../s3-events/object-ref.ts";
import { buildS3Notification, parseMessageBody, type ParseRules } from "../s3-events/s3-event.parser.ts";
import { jobIdFor, jobSourceOf, type JobRecord, type JobStatus } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { JobEventPublisher } from "../job-events/job-event.publisher.ts";
import { actorOf, audit } from "./audit.ts";
import { canSeeTenant, type Principal } from "./auth.ts";

/**
 * What the API does to jobs, apart from HTTP: enqueue an event, retry, cancel. Each method
 * returns an outcome the route turns into a status code; only dependency failures throw (as
 * MediaErrors, which become 503/502 problems). Every change is audited (audit.ts) and a job a
 * tenant-limited token may not see is `missing` to it, so its existence does not leak.
 */
export interface JobActionsDeps {
  store: JobStore;
  sqs: SQSClient;
  queueUrl: string;
  parseRules: ParseRules;
  ownerOf: (key: string) => Owner;
  /** Publishes the job events of jobs the API itself ends (a retry whose message could not be sent). */
  jobEvents?: JobEventPublisher;
  logger: Logger;
}

export type EnqueueOutcome =
  | { kind: "invalid"; reason: string; detail: string }
  | { kind: "nothing-to-process"; dropped: DroppedRecord[] }
  | { kind: "other-tenant"; key: string }
  | { kind: "enqueued"; messageId: string; jobs: EnqueuedJob[]; dropped: DroppedRecord[] };

export interface EnqueuedJob {
  id: string;
  bucket: string;
  key: string;
  /** The job's state right after enqueueing: `queued`, or the state of a job that already existed. */
  status: JobStatus;
  /** False when the object was seen before; an existing finished job is not processed again (retry it instead). */
  created: boolean;
}

export type RetryOutcome =
  | { kind: "missing" }
  | { kind: "conflict"; status: JobStatus; detail: string }
  | { kind: "requeued"; job: JobRecord; messageId: string };

export type CancelOutcome =
  | { kind: "missing" }
  | { kind: "conflict"; status: JobStatus }
  | { kind: "cancelled"; job: JobRecord }
  | { kind: "cancel-requested"; job: JobRecord };

/** Statuses a retry may start from; a completed job only with `force`. */
export const retryableStatuses = (force: boolean): JobStatus[] =>
  force ? ["failed", "cancelled", "completed"] : ["failed", "cancelled"];

export class JobActions {
  private readonly deps: JobActionsDeps;

  constructor(deps: JobActionsDeps) {
    this.deps = deps;
  }

  /** Puts an S3/SNS/EventBridge event on the media queue and records its jobs as queued. */
  async enqueueEvent(payload: unknown, principal: Principal): Promise<EnqueueOutcome> {
    const body = JSON.stringify(payload);
    const parsed = parseMessageBody(body, this.deps.parseRules);
    if (parsed.kind === "invalid") return { kind: "invalid", reason: parsed.reason, detail: parsed.detail };
    if (parsed.refs.length === 0) return { kind: "nothing-to-process", dropped: parsed.dropped };
    const foreign = parsed.refs.find((ref) => !canSeeTenant(principal, this.deps.ownerOf(ref.key).tenantId));
    if (foreign) return { kind: "other-tenant", key: foreign.key };
    // Send before recording: a worker that receives the message first simply creates the job
    // itself, whereas a record written first would stay `queued` forever if the send failed.
    const messageId = await this.send(this.deps.queueUrl, body);
    const jobs: EnqueuedJob[] = [];
    for (const ref of parsed.refs) {
      const source = jobSourceOf(ref);
      const id = jobIdFor(source);
      const owner = this.deps.ownerOf(ref.key);
      const { created, status } = await this.deps.store.enqueue({
        id,
        source,
        tenantId: owner.tenantId,
        userId: owner.userId,
        via: "api",
        by: principal.id,
      });
      jobs.push({ id, bucket: ref.bucket, key: ref.key, status, created });
    }
    audit(this.deps.logger, principal, "enqueue", { messageId, jobs: jobs.map((job) => job.id) });
    return { kind: "enqueued", messageId, jobs, dropped: parsed.dropped };
  }

  /**
   * failed/cancelled (or completed with `force`) → queued, then the source is sent to the media
   * queue again as the S3 notification S3 would send. The transition is atomic, so of two
   * retries racing only one requeues; the other sees `queued` and gets a conflict.
   */
  async retry(id: string, force: boolean, principal: Principal, via = "api"): Promise<RetryOutcome> {
    const { store } = this.deps;
    const job = await store.get(id);
    if (!job || !canSeeTenant(principal, job.tenantId)) return { kind: "missing" };
    const from = retryableStatuses(force);
    if (!from.includes(job.status)) return { kind: "conflict", status: job.status, detail: retryRefusal(job.status) };
    if (
      !(await store.requeue(id, from, {
        ...actorOf(principal, via),
        previousStatus: job.status,
        ...(force ? { force: true } : {}),
      }))
    ) {
      const now = await store.get(id);
      if (!now) return { kind: "missing" };
      return { kind: "conflict", status: now.status, detail: retryRefusal(now.status) };
    }
    let messageId: string;
    try {
      messageId = await this.send(this.deps.queueUrl, buildS3Notification([job.source]));
    } catch (error) {
      await store
        .failQueued(id, enqueueFailure("the retry's message could not be sent to the media queue"))
        .catch(() => undefined);
      await this.publishFailure(id);
      throw error;
    }
    await store.appendTimeline(id, "retry-enqueued", { messageId });
    audit(this.deps.logger, principal, "retry", { jobId: id, previousStatus: job.status, force, via, messageId });
    return { kind: "requeued", job: (await store.get(id)) ?? job, messageId };
  }

  /** queued → cancelled at once; processing → the durable flag is set and the worker aborts within moments. */
  async cancel(id: string, principal: Principal, via = "api"): Promise<CancelOutcome> {
    const { store } = this.deps;
    const before = await store.summary(id);
    if (!before || !canSeeTenant(principal, before.tenantId)) return { kind: "missing" };
    const found = await store.requestCancel(id, actorOf(principal, via));
    if (found === "missing") return { kind: "missing" };
    if (found !== "queued" && found !== "processing") return { kind: "conflict", status: found };
    audit(this.deps.logger, principal, "cancel", { jobId: id, previousStatus: found, via });
    const job = await store.get(id);
    if (!job) return { kind: "missing" };
    return found === "queued" ? { kind: "cancelled", job } : { kind: "cancel-requested", job };
  }

  /**
   * No message carries these jobs to a worker, so the API publishes their failure itself, once
   * and best effort: an SNS outage here is logged (and counted by the publisher), not retried.
   */
  async publishFailure(id: string): Promise<void> {
    await this.deps.jobEvents?.publish(id, this.deps.logger.child({ jobId: id })).catch(() => undefined);
  }

  async send(queueUrl: string, body: string): Promise<string> {
    try {
      const sent = await this.deps.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      return sent.MessageId ?? "unknown";
    } catch (error) {
      throw fromAwsError(error, "sqs:sendMessage");
    }
  }
}

function retryRefusal(status: JobStatus): string {
  if (status === "completed") return "the job completed; retry with force=true to process it again";
  return `the job is ${status}; only failed or cancelled jobs can be retried`;
}

export function enqueueFailure(message: string): JobErrorInfo {
  return { category: "transient", code: "enqueue-failed", message, retryable: true };
}
