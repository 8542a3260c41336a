import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { fromAwsError, type JobErrorInfo } from "../errors.ts";
import type { Owner } from "../events/key-rules.ts";
import type { DroppedRecord } from "../events/object-ref.ts";
import { buildS3Notification, parseMessageBody, type ParseRules } from "../events/s3-event.parser.ts";
import { jobIdFor, jobSourceOf, type JobRecord, type JobStatus } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { JobAnnouncer } from "../notify/job-announcer.ts";

/**
 * What the API does to jobs and queues, apart from HTTP: enqueue an event, retry, cancel,
 * redrive the DLQ. Each method returns an outcome the route turns into a status code; only
 * dependency failures throw (as MediaErrors, which become 503/502 problems).
 */
export interface JobActionsDeps {
  store: JobStore;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string | undefined;
  parseRules: ParseRules;
  ownerOf: (key: string) => Owner;
  /** Announces the jobs the API itself ends (a retry whose message could not be sent). */
  announcer?: JobAnnouncer;
  logger: Logger;
}

export type EnqueueOutcome =
  | { kind: "invalid"; reason: string; detail: string }
  | { kind: "nothing-to-process"; dropped: DroppedRecord[] }
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

export interface RedriveOutcome {
  moved: number;
  jobs: Array<{ id: string; requeued: boolean; status: JobStatus | "unknown" }>;
}

/** Statuses a retry may start from; a completed job only with `force`. */
export const retryableStatuses = (force: boolean): JobStatus[] => (force ? ["failed", "cancelled", "completed"] : ["failed", "cancelled"]);

/** The receive wait of a redrive: long enough that real SQS's short-poll sampling finds stragglers. */
const REDRIVE_WAIT_SECONDS = 1;
/** Messages being redriven stay invisible this long, in case the API dies halfway. */
const REDRIVE_VISIBILITY_SEC = 60;

export class JobActions {
  private readonly deps: JobActionsDeps;

  constructor(deps: JobActionsDeps) {
    this.deps = deps;
  }

  /** Puts an S3/SNS/EventBridge event on the media queue and records its jobs as queued. */
  async enqueueEvent(payload: unknown): Promise<EnqueueOutcome> {
    const body = JSON.stringify(payload);
    const parsed = parseMessageBody(body, this.deps.parseRules);
    if (parsed.kind === "invalid") return { kind: "invalid", reason: parsed.reason, detail: parsed.detail };
    if (parsed.refs.length === 0) return { kind: "nothing-to-process", dropped: parsed.dropped };
    // Send before recording: a worker that receives the message first simply creates the job
    // itself, whereas a record written first would stay `queued` forever if the send failed.
    const messageId = await this.send(this.deps.queueUrl, body);
    const jobs: EnqueuedJob[] = [];
    for (const ref of parsed.refs) {
      const source = jobSourceOf(ref);
      const id = jobIdFor(source);
      const owner = this.deps.ownerOf(ref.key);
      const { created, status } = await this.deps.store.enqueue({ id, source, tenantId: owner.tenantId, userId: owner.userId, via: "api" });
      jobs.push({ id, bucket: ref.bucket, key: ref.key, status, created });
    }
    this.deps.logger.info({ messageId, jobs: jobs.map((job) => job.id) }, "event enqueued through the API");
    return { kind: "enqueued", messageId, jobs, dropped: parsed.dropped };
  }

  /**
   * failed/cancelled (or completed with `force`) → queued, then the source is sent to the media
   * queue again as the S3 notification S3 would send. The transition is atomic, so of two
   * retries racing only one requeues; the other sees `queued` and gets a conflict.
   */
  async retry(id: string, force: boolean): Promise<RetryOutcome> {
    const { store } = this.deps;
    const job = await store.get(id);
    if (!job) return { kind: "missing" };
    const from = retryableStatuses(force);
    if (!from.includes(job.status)) return { kind: "conflict", status: job.status, detail: retryRefusal(job.status) };
    if (!(await store.requeue(id, from, { via: "api", previousStatus: job.status, ...(force ? { force: true } : {}) }))) {
      const now = await store.get(id);
      if (!now) return { kind: "missing" };
      return { kind: "conflict", status: now.status, detail: retryRefusal(now.status) };
    }
    let messageId: string;
    try {
      messageId = await this.send(this.deps.queueUrl, buildS3Notification([job.source]));
    } catch (error) {
      await store.failQueued(id, enqueueFailure("the retry's message could not be sent to the media queue")).catch(() => undefined);
      await this.announceFailure(id);
      throw error;
    }
    await store.appendTimeline(id, "retry-enqueued", { messageId });
    return { kind: "requeued", job: (await store.get(id)) ?? job, messageId };
  }

  /** queued → cancelled at once; processing → the worker is told and aborts within moments. */
  async cancel(id: string): Promise<CancelOutcome> {
    const found = await this.deps.store.requestCancel(id);
    if (found === "missing") return { kind: "missing" };
    if (found !== "queued" && found !== "processing") return { kind: "conflict", status: found };
    const job = await this.deps.store.get(id);
    if (!job) return { kind: "missing" };
    return found === "queued" ? { kind: "cancelled", job } : { kind: "cancel-requested", job };
  }

  /**
   * Moves up to `maxMessages` messages from the DLQ to the media queue. A message reaches the DLQ
   * after its job was recorded `failed`, and a worker drops deliveries of failed jobs as
   * duplicates, so each affected job is requeued (failed → queued) before its message is sent;
   * jobs in another state get a timeline entry only.
   */
  async redrive(maxMessages: number): Promise<RedriveOutcome> {
    const { sqs, store } = this.deps;
    const dlqUrl = this.deps.dlqUrl;
    const outcome: RedriveOutcome = { moved: 0, jobs: [] };
    if (!dlqUrl) return outcome;
    while (outcome.moved < maxMessages) {
      let received;
      try {
        received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlqUrl,
            MaxNumberOfMessages: Math.min(10, maxMessages - outcome.moved),
            WaitTimeSeconds: REDRIVE_WAIT_SECONDS,
            VisibilityTimeout: REDRIVE_VISIBILITY_SEC,
          }),
        );
      } catch (error) {
        throw fromAwsError(error, "sqs:receiveMessage");
      }
      const messages = received.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const requeued: string[] = [];
        const parsed = parseMessageBody(message.Body, this.deps.parseRules);
        const refs = parsed.kind === "events" ? parsed.refs : [];
        for (const ref of refs) {
          const id = jobIdFor(jobSourceOf(ref));
          const detail = { via: "dlq-redrive", dlqMessageId: message.MessageId };
          const moved = await store.requeue(id, ["failed"], detail);
          if (moved) requeued.push(id);
          else if (await store.get(id)) await store.appendTimeline(id, "redriven", detail);
          const status = (await store.get(id))?.status ?? "unknown";
          outcome.jobs.push({ id, requeued: moved, status });
        }
        try {
          await this.send(this.deps.queueUrl, message.Body ?? "");
        } catch (error) {
          // The message stays in the DLQ (visible again after REDRIVE_VISIBILITY_SEC); its jobs go back to failed.
          for (const id of requeued) {
            await store.failQueued(id, enqueueFailure("the DLQ redrive could not send the message to the media queue")).catch(() => undefined);
            await this.announceFailure(id);
          }
          throw error;
        }
        try {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
        } catch (error) {
          // Sent but not deleted: it comes back to the DLQ later and a second redrive sends a duplicate, which workers drop.
          this.deps.logger.warn({ err: error, messageId: message.MessageId }, "redriven message could not be deleted from the DLQ");
        }
        outcome.moved += 1;
      }
    }
    this.deps.logger.info({ moved: outcome.moved, requeued: outcome.jobs.filter((job) => job.requeued).length }, "DLQ redrive");
    return outcome;
  }

  /**
   * No message carries these jobs to a worker, so the API announces their failure itself, once
   * and best effort: an SNS outage here is logged (and counted by the announcer), not retried.
   */
  private async announceFailure(id: string): Promise<void> {
    await this.deps.announcer?.announce(id, this.deps.logger.child({ jobId: id })).catch(() => undefined);
  }

  private async send(queueUrl: string, body: string): Promise<string> {
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

function enqueueFailure(message: string): JobErrorInfo {
  return { category: "transient", code: "enqueue-failed", message, retryable: true };
}
