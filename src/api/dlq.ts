import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { fromAwsError } from "../errors.ts";
import type { Owner } from "../s3-events/key-rules.ts";
import { parseMessageBody, type ParseRules } from "../s3-events/s3-event.parser.ts";
import { jobIdOfRef } from "../jobs/job.model.ts";
import type { JobListItem, JobStore } from "../jobs/job.store.ts";
import type { JobStatus } from "../jobs/job.model.ts";
import type { Logger } from "../logger.ts";
import { actorOf } from "./audit.ts";
import type { Principal } from "./auth.ts";
import { enqueueFailure, type JobActions } from "./job-actions.ts";

/**
 * The dead-letter queue as an operator works with it. SQS has no peek: a message is read by
 * receiving it, which hides it for the visibility timeout. So a peek receives with a short
 * visibility, holds what it read until it has enough, then makes every one visible again at
 * once (the DLQ's receive count goes up, which nothing here relies on). A redrive does the
 * same scan and moves the messages that match; bodies that are not S3 events are reported
 * (and deleted only when asked), never moved silently.
 */
export interface DlqDeps {
  sqs: SQSClient;
  dlqUrl: string;
  queueUrl: string;
  store: JobStore;
  actions: JobActions;
  parseRules: ParseRules;
  ownerOf: (key: string) => Owner;
  logger: Logger;
}

export interface DlqObject {
  bucket: string;
  key: string;
  jobId: string;
  tenantId: string | undefined;
  /** The job as the store has it now; null when it expired or never existed. */
  job: { status: JobStatus; attempts: number; error: JobListItem["error"] | null } | null;
}

export interface DlqMessage {
  messageId: string;
  sentAt: string | null;
  receiveCount: number;
  /** `event`: an S3 event naming `objects`; otherwise why the body is not one, and its start. */
  body: { kind: "event" } | { kind: "not-an-event"; reason: string; preview: string };
  objects: DlqObject[];
}

export interface RedriveRequest {
  maxMessages: number;
  messageIds?: string[];
  filter?: { tenant?: string; keyPrefix?: string; errorCode?: string };
  dropNonEvents?: boolean;
}

export interface RedriveProgress {
  [name: string]: unknown;
  scanned: number;
  moved: number;
  skipped: number;
  /** Bodies that are not S3 events: left in the DLQ, or deleted with dropNonEvents. */
  notEvents: Array<{ messageId: string; reason: string; preview: string; dropped: boolean }>;
  jobs: Array<{ id: string; requeued: boolean; status: JobStatus | "unknown" }>;
  /** Whether the whole DLQ was scanned (false: stopped at maxMessages). */
  complete: boolean;
}

/** Messages read by a peek stay hidden this long at most (they are released as soon as it ends). */
const PEEK_HOLD_SEC = 30;
/** Messages a redrive scanned but did not move are hidden until the scan ends, this long at most. */
const REDRIVE_HOLD_SEC = 300;
/** Long enough that real SQS's short-poll sampling finds stragglers. */
const RECEIVE_WAIT_SEC = 1;
/** Job lists in a redrive's progress are capped; the counters are not. */
const PROGRESS_LIST_CAP = 500;

export class DeadLetterQueue {
  private readonly deps: DlqDeps;

  constructor(deps: DlqDeps) {
    this.deps = deps;
  }

  /** Up to `limit` messages with their objects and their jobs' last errors; none is consumed. */
  async peek(limit: number): Promise<{ messages: DlqMessage[]; complete: boolean }> {
    const held: Message[] = [];
    const messages: DlqMessage[] = [];
    try {
      for (;;) {
        const batch = await this.receive(Math.min(10, limit - held.length), PEEK_HOLD_SEC);
        if (batch.length === 0) return { messages, complete: true };
        held.push(...batch);
        for (const message of batch) messages.push(await this.describe(message));
        if (held.length >= limit) return { messages, complete: false };
      }
    } finally {
      await this.release(held);
    }
  }

  /**
   * Moves the matching messages back to the media queue (the redrive action's work). Each
   * failed job a message names is requeued first (a worker drops deliveries of failed jobs as
   * duplicates), recorded with who asked; jobs in another state get a timeline entry only.
   */
  async redrive(
    request: RedriveRequest,
    principal: Principal,
    report: (progress: RedriveProgress) => void,
  ): Promise<RedriveProgress> {
    const progress: RedriveProgress = { scanned: 0, moved: 0, skipped: 0, notEvents: [], jobs: [], complete: false };
    const held: Message[] = [];
    const seen = new Set<string>();
    const wanted = request.messageIds ? new Set(request.messageIds) : undefined;
    try {
      while (progress.moved < request.maxMessages) {
        const batch = await this.receive(10, REDRIVE_HOLD_SEC);
        if (batch.length === 0) {
          progress.complete = true;
          break;
        }
        for (const message of batch) {
          const id = message.MessageId ?? "";
          // A message seen twice came back after its hold: the scan went all the way round.
          if (seen.has(id)) {
            held.push(message);
            continue;
          }
          seen.add(id);
          progress.scanned += 1;
          const outcome =
            progress.moved < request.maxMessages
              ? await this.redriveOne(message, request, wanted, principal, progress)
              : "skip";
          if (outcome !== "gone") held.push(message);
          if (outcome === "skip") progress.skipped += 1;
        }
        report(progress);
        if (wanted && [...wanted].every((id) => seen.has(id))) {
          progress.complete = true;
          break;
        }
      }
    } finally {
      await this.release(held);
    }
    this.deps.logger.info(
      { moved: progress.moved, scanned: progress.scanned, notEvents: progress.notEvents.length, by: principal.id },
      "DLQ redrive",
    );
    return progress;
  }

  /** `gone`: moved or dropped (deleted from the DLQ); `skip`: left there; `kept`: left there on purpose (not an event). */
  private async redriveOne(
    message: Message,
    request: RedriveRequest,
    wanted: Set<string> | undefined,
    principal: Principal,
    progress: RedriveProgress,
  ): Promise<"gone" | "skip" | "kept"> {
    const { store } = this.deps;
    if (wanted && !wanted.has(message.MessageId ?? "")) return "skip";
    const described = await this.describe(message);
    if (described.body.kind === "not-an-event") {
      // A filter names objects; a body that names none cannot match it.
      if (request.filter && !wanted) return "skip";
      const drop = request.dropNonEvents === true;
      if (drop) await this.delete(message);
      if (progress.notEvents.length < PROGRESS_LIST_CAP)
        progress.notEvents.push({
          messageId: described.messageId,
          reason: described.body.reason,
          preview: described.body.preview,
          dropped: drop,
        });
      return drop ? "gone" : "kept";
    }
    if (!matches(described, request.filter)) return "skip";
    const requeued: string[] = [];
    for (const object of described.objects) {
      const detail = { ...actorOf(principal, "dlq-redrive"), dlqMessageId: described.messageId };
      const moved = await store.requeue(object.jobId, ["failed"], detail);
      if (moved) requeued.push(object.jobId);
      else if (object.job) await store.appendTimeline(object.jobId, "redriven", detail);
      const status = (await store.summary(object.jobId))?.status ?? "unknown";
      if (progress.jobs.length < PROGRESS_LIST_CAP) progress.jobs.push({ id: object.jobId, requeued: moved, status });
    }
    try {
      await this.deps.actions.send(this.deps.queueUrl, message.Body ?? "");
    } catch (error) {
      // The message stays in the DLQ (held, released at the end); its jobs go back to failed.
      for (const id of requeued) {
        await store
          .failQueued(id, enqueueFailure("the DLQ redrive could not send the message to the media queue"))
          .catch(() => undefined);
        await this.deps.actions.publishFailure(id);
      }
      throw error;
    }
    // Sent but not deleted: it comes back to the DLQ later and a second redrive sends a duplicate, which workers drop.
    await this.delete(message).catch((error: unknown) =>
      this.deps.logger.warn(
        { err: error, messageId: message.MessageId },
        "redriven message could not be deleted from the DLQ",
      ),
    );
    progress.moved += 1;
    return "gone";
  }

  private async describe(message: Message): Promise<DlqMessage> {
    const sent = Number(message.Attributes?.SentTimestamp);
    const base = {
      messageId: message.MessageId ?? "",
      sentAt: Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : null,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    };
    const parsed = parseMessageBody(message.Body, this.deps.parseRules);
    if (parsed.kind === "invalid")
      return {
        ...base,
        body: { kind: "not-an-event", reason: parsed.reason, preview: (message.Body ?? "").slice(0, 200) },
        objects: [],
      };
    if (parsed.refs.length === 0)
      return {
        ...base,
        body: {
          kind: "not-an-event",
          reason: parsed.dropped.map((dropped) => dropped.reason).join(",") || "no-objects",
          preview: (message.Body ?? "").slice(0, 200),
        },
        objects: [],
      };
    const objects = await Promise.all(
      parsed.refs.map(async (ref): Promise<DlqObject> => {
        const jobId = jobIdOfRef(ref);
        const job = await this.deps.store.summary(jobId);
        return {
          bucket: ref.bucket,
          key: ref.key,
          jobId,
          tenantId: this.deps.ownerOf(ref.key).tenantId,
          job: job ? { status: job.status, attempts: job.attempts, error: job.error ?? null } : null,
        };
      }),
    );
    return { ...base, body: { kind: "event" }, objects };
  }

  private async receive(max: number, visibilitySec: number): Promise<Message[]> {
    try {
      const received = await this.deps.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.deps.dlqUrl,
          MaxNumberOfMessages: Math.max(1, Math.min(10, max)),
          WaitTimeSeconds: RECEIVE_WAIT_SEC,
          VisibilityTimeout: visibilitySec,
          MessageSystemAttributeNames: ["SentTimestamp", "ApproximateReceiveCount"],
        }),
      );
      return received.Messages ?? [];
    } catch (error) {
      throw fromAwsError(error, "sqs:receiveMessage");
    }
  }

  private async delete(message: Message): Promise<void> {
    try {
      await this.deps.sqs.send(
        new DeleteMessageCommand({ QueueUrl: this.deps.dlqUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    } catch (error) {
      throw fromAwsError(error, "sqs:deleteMessage");
    }
  }

  /** Visible again at once; a failure only delays them to the end of their hold. */
  private async release(messages: readonly Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const batch = messages.slice(start, start + 10);
      await this.deps.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.deps.dlqUrl,
            Entries: batch.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        )
        .catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error, count: batch.length },
            "DLQ messages not released; they reappear after their hold",
          ),
        );
    }
  }
}

/** Whether a message's objects match a redrive filter (every given condition, on any of its objects). */
function matches(message: DlqMessage, filter: RedriveRequest["filter"]): boolean {
  if (!filter) return true;
  return message.objects.some(
    (object) =>
      (filter.tenant === undefined || object.tenantId === filter.tenant) &&
      (filter.keyPrefix === undefined || object.key.startsWith(filter.keyPrefix)) &&
      (filter.errorCode === undefined || object.job?.error?.code === filter.errorCode),
  );
}
