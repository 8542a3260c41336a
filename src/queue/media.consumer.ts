import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { setTimeout as sleep } from "node:timers/promises";
import { Consumer } from "sqs-consumer";
import type { Logger } from "../logger.ts";
import { startVisibilityHeartbeat } from "./visibility.heartbeat.ts";

/**
 * What the consumer does with a message, as the fate table (src/pipeline/outcome.ts) decided it.
 * `delete` only after the job's outcome is recorded; `retry` keeps it and hides it for `delaySec`
 * (back-off; the redrive policy moves it to the DLQ after maxReceiveCount); `release` makes it
 * visible again at once (shutdown); `keep` leaves the visibility as it is (another worker owns the
 * job).
 */
export type MessageAction =
  | { action: "delete" }
  | { action: "retry"; delaySec: number }
  | { action: "release" }
  | { action: "keep" };

export interface MessageContext {
  message: Message;
  /** Fires on shutdown (reason "shutdown") or at the 12 hour visibility limit ("visibility-limit"). */
  signal: AbortSignal;
  receiveCount: number;
}

export type MessageHandler = (context: MessageContext) => Promise<MessageAction>;

export interface MediaConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  concurrency: number;
  batchSize: number;
  waitTimeSeconds: number;
  visibilityTimeoutSec: number;
  heartbeatIntervalSec: number;
  handler: MessageHandler;
  logger: Logger;
  onReceive?: (count: number) => void;
}

/**
 * The SQS consumer. sqs-consumer does the long-poll loop; this class decouples processing from
 * it: each received message runs as its own task (so one slow job never holds the rest of its
 * batch, which sqs-consumer's Promise.all would), the next receive asks only for as many
 * messages as there are free slots, and messages are deleted by us once their job is recorded
 * (the handler returns [] so sqs-consumer deletes nothing).
 *
 * Lifecycle: start → receive → run (heartbeat while running) → settle (delete/retry/release)
 * → stop (stop receiving → wait up to the grace period → abort the rest → wait for them to
 * release their messages).
 *
 * A receive under way when stop begins is let finish, never aborted: aborting the HTTP request
 * does not cancel the receive on the server (SQS and the emulator alike), which can still hand
 * it a message whose receipt nobody then holds, so that message stays invisible for its whole
 * visibility timeout. What such a receive brings is released at once instead of started. Stop
 * therefore takes up to `waitTimeSeconds` longer when a worker is idle.
 */
export class MediaConsumer {
  private readonly options: MediaConsumerOptions;
  private readonly consumer: Consumer;
  private readonly running = new Map<string, { task: Promise<void>; controller: AbortController }>();
  private slotWaiters: Array<() => void> = [];
  private stopping = false;
  private stopPromise: Promise<void> | undefined;

  constructor(options: MediaConsumerOptions) {
    this.options = options;
    this.consumer = Consumer.create({
      queueUrl: options.queueUrl,
      sqs: options.sqs,
      batchSize: Math.min(options.batchSize, options.concurrency),
      waitTimeSeconds: options.waitTimeSeconds,
      visibilityTimeout: options.visibilityTimeoutSec,
      messageSystemAttributeNames: ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp"],
      messageAttributeNames: ["All"],
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      handleMessageBatch: (messages) => this.accept(messages),
    });
    this.consumer.on("error", (error) => options.logger.error({ err: error }, "sqs receive error"));
    this.consumer.on("processing_error", (error) => options.logger.error({ err: error }, "sqs processing error"));
  }

  get inFlight(): number {
    return this.running.size;
  }

  get isRunning(): boolean {
    return this.consumer.status.isRunning;
  }

  start(): void {
    this.consumer.start();
  }

  private async accept(messages: Message[]): Promise<Message[]> {
    this.options.onReceive?.(messages.length);
    if (this.stopping) {
      // The receive that was under way when stop began: hand what it brought straight back.
      await Promise.all(messages.map((message) => this.settle(message, { action: "release" })));
      this.options.logger.info(
        { released: messages.length },
        "stopping: messages received after stop released unstarted",
      );
      return [];
    }
    for (const message of messages) this.launch(message);
    await this.waitForFreeSlot();
    const free = this.options.concurrency - this.running.size;
    const nextBatch = Math.max(1, Math.min(this.options.batchSize, free));
    this.consumer.updateOption("batchSize", nextBatch);
    return [];
  }

  private launch(message: Message): void {
    const id = message.MessageId ?? message.ReceiptHandle ?? String(Math.random());
    const controller = new AbortController();
    const task = this.run(message, controller).finally(() => {
      this.running.delete(id);
      const waiters = this.slotWaiters;
      this.slotWaiters = [];
      for (const wake of waiters) wake();
    });
    this.running.set(id, { task, controller });
  }

  private waitForFreeSlot(): Promise<void> {
    if (this.running.size < this.options.concurrency || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private async run(message: Message, controller: AbortController): Promise<void> {
    const { logger } = this.options;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    const stopHeartbeat = startVisibilityHeartbeat({
      sqs: this.options.sqs,
      queueUrl: this.options.queueUrl,
      receiptHandle: message.ReceiptHandle ?? "",
      visibilityTimeoutSec: this.options.visibilityTimeoutSec,
      intervalSec: this.options.heartbeatIntervalSec,
      receivedAtMs: Date.now(),
      logger,
      onLimit: () => controller.abort("visibility-limit"),
    });
    let outcome: MessageAction;
    try {
      outcome = await this.options.handler({ message, signal: controller.signal, receiveCount });
    } catch (error) {
      // The handler classifies its own failures; reaching here is a bug. Keep the message.
      logger.error({ err: error, messageId: message.MessageId }, "message handler threw; message kept for redelivery");
      outcome = { action: "keep" };
    } finally {
      stopHeartbeat();
    }
    await this.settle(message, outcome);
  }

  private async settle(message: Message, outcome: MessageAction): Promise<void> {
    const { sqs, queueUrl, logger } = this.options;
    const receiptHandle = message.ReceiptHandle;
    try {
      if (outcome.action === "delete") {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
      } else if (outcome.action === "retry" || outcome.action === "release") {
        const delay = outcome.action === "release" ? 0 : outcome.delaySec;
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: delay,
          }),
        );
      }
    } catch (error) {
      logger.warn(
        { err: error, messageId: message.MessageId, action: outcome.action },
        "could not settle message; it reappears after its visibility timeout",
      );
    }
  }

  /**
   * Ordered and idempotent: stop receiving, let in-flight jobs finish for `graceMs`, then abort
   * what is left (their handlers release their messages and jobs), and wait for them.
   */
  stop(graceMs: number): Promise<void> {
    this.stopPromise ??= this.doStop(graceMs);
    return this.stopPromise;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const wake of this.slotWaiters.splice(0)) wake();
    const receiveEnded = this.stopReceiving();
    const all = () => Promise.allSettled([...this.running.values()].map((entry) => entry.task));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const result = await Promise.race([all().then(() => "done" as const), graceOver]);
    clearTimeout(timer);
    if (result === "timeout") {
      this.options.logger.warn({ inFlight: this.running.size }, "grace period over; releasing in-flight jobs");
      for (const entry of this.running.values()) entry.controller.abort("shutdown");
      await all();
    }
    await receiveEnded;
  }

  /**
   * No new receive starts; the one under way (if any) ends on its own within `waitTimeSeconds`,
   * and what it brings is released by {@link accept}. A receive that outlives that by a margin
   * (a stalled connection) is given up on: its message, if any, reappears after its timeout.
   */
  private async stopReceiving(): Promise<void> {
    this.consumer.stop();
    const deadline = Date.now() + (this.options.waitTimeSeconds + RECEIVE_END_MARGIN_SEC) * 1000;
    while (this.consumer.status.isPolling && Date.now() < deadline) await sleep(RECEIVE_END_POLL_MS);
    if (this.consumer.status.isPolling)
      this.options.logger.warn(
        { waitTimeSeconds: this.options.waitTimeSeconds },
        "stopping: a receive did not end in time; any message it got reappears after its visibility timeout",
      );
  }
}

/** How long past `waitTimeSeconds` a receive may take to end before stop gives up on it. */
const RECEIVE_END_MARGIN_SEC = 5;
const RECEIVE_END_POLL_MS = 50;
