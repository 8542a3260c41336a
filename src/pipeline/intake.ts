import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Owner } from "../s3-events/key-rules.ts";
import { parseMessageBody, type ParseRules } from "../s3-events/s3-event.parser.ts";
import { jobSourceOf } from "../jobs/job.model.ts";
import { jobIdFor } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import { EVENT_SENT_AT_ATTRIBUTE, NO_TENANT } from "../lanes/lane-forward.ts";

/**
 * The light intake (MEDIA_INTAKE_QUEUE_URL): bucket notifications arrive on an intake queue;
 * for each message the intake records every object it names as a `queued` job (no download,
 * one Redis script per object), forwards the body unchanged to the media queue, and deletes
 * it from the intake queue. So a backlog is visible, searchable by key and cancellable before
 * any worker has a free slot, and a cancelled one is dropped when a worker claims it.
 *
 * Order, and why nothing is lost: record → forward → delete. A crash after recording leaves a
 * `queued` job and the intake message, which comes back and is forwarded then; a crash after
 * forwarding sends a duplicate, which workers drop (same job id). Bodies that are not events
 * are forwarded too: the worker drops them with its usual log line and metric.
 *
 * Each forward carries the tenant of its first object as MessageGroupId (SQS fair queues group by
 * it on standard queues; emulators ignore it) and the intake message's SentTimestamp as the
 * MediaEventSentAt attribute, so the lanes' wait time counts from the upload's event. The media
 * queue is the entry lane's (MEDIA_LANES): its workers sniff and forward to the other lanes.
 */
export interface IntakeOptions {
  sqs: SQSClient;
  intakeQueueUrl: string;
  mediaQueueUrl: string;
  store: JobStore;
  parseRules: ParseRules;
  ownerOf: (key: string) => Owner;
  logger: Logger;
  /** Long-poll wait (SQS's 20 s maximum by default). */
  waitTimeSeconds?: number;
}

export interface Intake {
  /** Messages forwarded so far. */
  readonly forwarded: number;
  /** Stops polling and waits for the batch in hand. Safe to call twice. */
  stop(): Promise<void>;
}

/** Intake messages are hidden this long while a batch is recorded and forwarded. */
const INTAKE_VISIBILITY_SEC = 60;

export function startIntake(options: IntakeOptions): Intake {
  const controller = new AbortController();
  let forwarded = 0;
  const loop = (async () => {
    let failures = 0;
    while (!controller.signal.aborted) {
      try {
        const messages = await receive(options, controller.signal);
        if (messages.length > 0) forwarded += await handleBatch(options, messages);
        failures = 0;
      } catch (error) {
        if (controller.signal.aborted) break;
        failures += 1;
        options.logger.warn(
          { err: error, failures },
          "intake: batch failed; its messages come back after their visibility timeout",
        );
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), undefined, { signal: controller.signal }).catch(
          () => undefined,
        );
      }
    }
  })();
  let stopped: Promise<void> | undefined;
  return {
    get forwarded() {
      return forwarded;
    },
    stop() {
      controller.abort();
      stopped ??= loop;
      return stopped;
    },
  };
}

async function receive(options: IntakeOptions, signal: AbortSignal): Promise<Message[]> {
  const received = await options.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: options.intakeQueueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: options.waitTimeSeconds ?? 20,
      VisibilityTimeout: INTAKE_VISIBILITY_SEC,
      MessageSystemAttributeNames: ["SentTimestamp"],
    }),
    { abortSignal: signal },
  );
  return received.Messages ?? [];
}

/** Records, forwards and deletes one batch; returns how many were forwarded. */
async function handleBatch(options: IntakeOptions, messages: Message[]): Promise<number> {
  const recorded: Message[] = [];
  const tenants = new Map<Message, string>();
  for (const message of messages) {
    const parsed = parseMessageBody(message.Body, options.parseRules);
    try {
      for (const ref of parsed.kind === "events" ? parsed.refs : []) {
        const source = jobSourceOf(ref);
        const owner = options.ownerOf(ref.key);
        if (owner.tenantId !== undefined && !tenants.has(message)) tenants.set(message, owner.tenantId);
        await options.store.enqueue({
          id: jobIdFor(source),
          source,
          tenantId: owner.tenantId,
          userId: owner.userId,
          via: "intake",
        });
      }
      recorded.push(message);
    } catch (error) {
      // Redis unavailable: this message stays on the intake queue and is tried again.
      options.logger.warn({ err: error, messageId: message.MessageId }, "intake: could not record the event's jobs");
    }
  }
  if (recorded.length === 0) return 0;
  const sent = await options.sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: options.mediaQueueUrl,
      Entries: recorded.map((message, index) => ({
        Id: String(index),
        MessageBody: message.Body ?? "",
        MessageGroupId: tenants.get(message) ?? NO_TENANT,
        MessageAttributes: {
          [EVENT_SENT_AT_ATTRIBUTE]: {
            DataType: "Number",
            StringValue: String(message.Attributes?.SentTimestamp ?? Date.now()),
          },
        },
      })),
    }),
  );
  const failed = new Set((sent.Failed ?? []).map((entry) => entry.Id));
  const done = recorded.filter((_, index) => !failed.has(String(index)));
  if (failed.size > 0)
    options.logger.warn(
      { failed: failed.size },
      "intake: some events could not be forwarded; they come back from the intake queue",
    );
  if (done.length > 0) {
    await options.sqs
      .send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.intakeQueueUrl,
          Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      )
      .catch((error: unknown) =>
        options.logger.warn(
          { err: error },
          "intake: forwarded events not deleted; they are forwarded again (workers drop the duplicates)",
        ),
      );
  }
  options.logger.debug({ forwarded: done.length }, "intake: events recorded and forwarded");
  return done.length;
}
