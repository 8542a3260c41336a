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
  /**
   * Messages this consumer held, waiting, when this one started (look-ahead): more than 0 means
   * putting this one back would not leave the slot idle (the fair share's deferral needs it).
   */
  heldBehind: number;
  /**
   * Started as a probe (`pickProbe`): every slot is busy and the look-ahead is full of tenants
   * already running; the handler puts it behind the queue so the next receive can see what
   * waits further back. Never run as a job.
   */
  probe?: boolean;
  /**
   * Handed over to go to the lane's backlog queue (`pickSpill`): every slot is busy, the
   * look-ahead is full, and its tenant already runs in the lane. Never run as a job.
   */
  spill?: boolean;
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
  /**
   * Messages held beyond the running slots, waiting for one (FAIR_SHARE_LOOKAHEAD): with them
   * `pickNext` can start a waiting tenant's upload before a flooding tenant's older ones. 0 (the
   * default): receive only for free slots and start in arrival order.
   */
  lookahead?: number;
  /**
   * Which held message starts when a slot frees (an index into `held`, oldest first), or -1 for
   * none yet (asked again when a job ends, a message arrives, or after PICK_AGAIN_MS; with the
   * look-ahead full the oldest starts anyway, for the handler to defer); the oldest without it.
   */
  pickNext?: (held: readonly Message[]) => Promise<number>;
  /**
   * Slots above `concurrency` for newcomers (FAIR_SHARE_NEWCOMER_SLOTS): with every slot busy,
   * `pickNewcomer` may name a held message to start at once anyway (a tenant with nothing running
   * in the lane); -1 for none. There is no preemption, so without it that message waits for a
   * running job to end. 0 (the default): never more than `concurrency` at once.
   */
  newcomerSlots?: number;
  pickNewcomer?: (held: readonly Message[]) => Promise<number>;
  /**
   * With every slot busy and the look-ahead full, which held message to hand to the handler as
   * a probe (put behind the queue), or -1: a flood deeper than the look-ahead would otherwise
   * hide a neighbour's upload until the flood's messages ahead of it have all run. One probe at
   * a time, at most one per PROBE_INTERVAL_MS. Without it: never.
   */
  pickProbe?: (held: readonly Message[]) => Promise<number>;
  /**
   * The lane's backlog queue (FAIR_SHARE_BACKLOG_QUEUE_URLS). With it the lane's own queue is
   * received from even while the look-ahead is full: what arrives beyond it is held until
   * `pickSpill` names the held messages to hand to the handler as spills (moved to the backlog),
   * so the lane's queue holds only recent arrivals and a neighbour's upload is seen within one
   * receive, however deep a flood is. The backlog is received from whenever the look-ahead has
   * room. Replaces the probe.
   */
  backlogQueueUrl?: string;
  /**
   * Which held messages go to the backlog (indices into `held`, at most `count`), or none: none
   * may (then the lane's queue waits for room). One call per round, so a burst's surplus costs
   * one look at the fair share's counts, not one per message.
   */
  pickSpill?: (held: readonly Message[], count: number) => Promise<number[]>;
}

/** Probes (pickProbe) at most this often per consumer: each is a ranged GET, a send and a delete. */
const PROBE_INTERVAL_MS = 25;

/** Spills (pickSpill) under way at once per consumer: the lane's queue is not received from while this many are. */
const MAX_SPILLS_IN_FLIGHT = 30;

/** A received message not yet started: its visibility is kept up from the moment it arrived. */
interface Held {
  message: Message;
  /** The queue it was received from: the lane's own, or its backlog. */
  queueUrl: string;
  controller: AbortController;
  stopHeartbeat: () => void;
}

/**
 * The SQS consumer. sqs-consumer does the long-poll loop; this class decouples processing from
 * it: each received message runs as its own task (so one slow job never holds the rest of its
 * batch, which sqs-consumer's Promise.all would), the next receive asks only for as many
 * messages as there are free slots (plus the look-ahead, which waits held for a slot), and
 * messages are deleted by us once their job is recorded (the handler returns [] so
 * sqs-consumer deletes nothing).
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
  /** Receives from the lane's backlog queue (options.backlogQueueUrl), if it has one. */
  private readonly backlog: Consumer | undefined;
  private readonly running = new Map<string, { task: Promise<void>; controller: AbortController }>();
  private readonly held: Held[] = [];
  private picking = false;
  /** startHeld was called while its loop ran: the loop goes round once more. */
  private pickAgain = false;
  /** Probes and spills in `running`: they hold no slot. */
  private probing = 0;
  /** Spills in `running` (part of `probing`). */
  private spilling = 0;
  /** The last pickSpill found nothing to move: the lane's queue waits for room. */
  private spillBlocked = false;
  private lastProbeAt = 0;
  private pickTimer: NodeJS.Timeout | undefined;
  /** Set once stop began: resolves when the receive under way (if any) has ended. */
  private receiveEnded: Promise<void> | undefined;
  private slotWaiters: Array<() => void> = [];
  private stopping = false;
  private stopPromise: Promise<void> | undefined;

  constructor(options: MediaConsumerOptions) {
    this.options = options;
    this.consumer = this.receiver(options.queueUrl);
    this.backlog = options.backlogQueueUrl && options.pickSpill ? this.receiver(options.backlogQueueUrl) : undefined;
  }

  private receiver(queueUrl: string): Consumer {
    const { options } = this;
    const consumer = Consumer.create({
      queueUrl,
      sqs: options.sqs,
      batchSize: Math.min(options.batchSize, options.concurrency + (options.lookahead ?? 0)),
      waitTimeSeconds: options.waitTimeSeconds,
      visibilityTimeout: options.visibilityTimeoutSec,
      messageSystemAttributeNames: ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp"],
      messageAttributeNames: ["All"],
      shouldDeleteMessages: false,
      suppressFifoWarning: true,
      handleMessageBatch: (messages) => this.accept(messages, queueUrl, consumer),
    });
    consumer.on("error", (error) => options.logger.error({ err: error, queueUrl }, "sqs receive error"));
    consumer.on("processing_error", (error) => options.logger.error({ err: error, queueUrl }, "sqs processing error"));
    return consumer;
  }

  get inFlight(): number {
    return this.busy();
  }

  /** Received, waiting for a slot (look-ahead). */
  get waiting(): number {
    return this.held.length;
  }

  get isRunning(): boolean {
    return this.consumer.status.isRunning;
  }

  start(): void {
    this.consumer.start();
    this.backlog?.start();
  }

  private async accept(messages: Message[], queueUrl: string, from: Consumer): Promise<Message[]> {
    this.options.onReceive?.(messages.length);
    if (this.stopping) {
      // The receive that was under way when stop began: hand what it brought straight back.
      await Promise.all(messages.map((message) => this.settle(message, { action: "release" }, queueUrl)));
      this.options.logger.info(
        { released: messages.length },
        "stopping: messages received after stop released unstarted",
      );
      return [];
    }
    for (const message of messages) this.held.push(this.hold(message, queueUrl));
    await this.startHeld();
    if (from === this.consumer && this.backlog) {
      // The lane's queue keeps being read while the look-ahead is full: what comes beyond it is
      // spilled to the backlog, so a neighbour's upload behind a flood is the next one received.
      await this.waitForSpillRoom();
      const nextBatch = this.room() > 0 ? Math.min(this.options.batchSize, this.room()) : this.options.batchSize;
      from.updateOption("batchSize", Math.max(1, nextBatch));
      return [];
    }
    await this.waitForRoom();
    const nextBatch = Math.max(1, Math.min(this.options.batchSize, this.room()));
    from.updateOption("batchSize", nextBatch);
    return [];
  }

  /** Slots and look-ahead places not taken. */
  private room(): number {
    return this.options.concurrency + (this.options.lookahead ?? 0) - this.busy() - this.held.length;
  }

  /** Running jobs, probes not counted. */
  private busy(): number {
    return this.running.size - this.probing;
  }

  private hold(message: Message, queueUrl: string): Held {
    const controller = new AbortController();
    const stopHeartbeat = startVisibilityHeartbeat({
      sqs: this.options.sqs,
      queueUrl,
      receiptHandle: message.ReceiptHandle ?? "",
      visibilityTimeoutSec: this.options.visibilityTimeoutSec,
      intervalSec: this.options.heartbeatIntervalSec,
      receivedAtMs: Date.now(),
      logger: this.options.logger,
      onLimit: () => controller.abort("visibility-limit"),
    });
    return { message, queueUrl, controller, stopHeartbeat };
  }

  /**
   * Starts held messages while slots are free, each chosen by `pickNext`. One loop at a time: a
   * call while one runs returns at once and has the running loop go round once more when it
   * ends, since the newcomer, probe and spill steps await after the slots were last looked at.
   */
  private async startHeld(): Promise<void> {
    if (this.picking) {
      this.pickAgain = true;
      return;
    }
    this.picking = true;
    this.pickAgain = false;
    try {
      while (!this.stopping && this.held.length > 0 && this.busy() < this.options.concurrency) {
        let index = 0;
        if (this.options.pickNext) {
          const picked = await this.options.pickNext(this.held.map((entry) => entry.message)).catch(() => 0);
          if (this.stopping) break;
          if (picked === -1) {
            // Every held message's tenant is at its share: keep the slot for a neighbour and look
            // again soon — unless the look-ahead is full. Then the oldest goes to the handler
            // anyway, where the fair share defers it (re-sent behind the queue) or lets it run,
            // so the next receive can reach the neighbours' uploads queued further back. With a
            // backlog the lane's queue is read on anyway: nothing needs deferring to see further.
            this.pickAgainLater();
            if (this.room() > 0 || this.backlog) break;
          }
          index = Number.isInteger(picked) && picked > 0 && picked < this.held.length ? picked : 0;
        }
        this.launch(this.held.splice(index, 1)[0]!);
      }
      await this.startNewcomers();
      if (this.backlog) await this.startSpills();
      else await this.startProbe();
    } finally {
      this.picking = false;
    }
    if (this.pickAgain && !this.stopping) await this.startHeld();
  }

  /** With every slot busy, a held newcomer may take one of the few extra slots (never the look-ahead's oldest by default). */
  private async startNewcomers(): Promise<void> {
    const { pickNewcomer, concurrency } = this.options;
    const limit = concurrency + (this.options.newcomerSlots ?? 0);
    if (!pickNewcomer) return;
    while (!this.stopping && this.held.length > 0 && this.busy() >= concurrency && this.busy() < limit) {
      const picked = await pickNewcomer(this.held.map((entry) => entry.message)).catch(() => -1);
      if (this.stopping || !Number.isInteger(picked) || picked < 0 || picked >= this.held.length) return;
      this.launch(this.held.splice(picked, 1)[0]!);
    }
  }

  /** With every slot busy and the look-ahead full, one held message may go back behind the queue (pickProbe). */
  private async startProbe(): Promise<void> {
    const { pickProbe, concurrency } = this.options;
    if (!pickProbe || this.stopping || this.probing > 0 || this.held.length === 0) return;
    if (this.busy() < concurrency || this.room() > 0) return;
    const wait = this.lastProbeAt + PROBE_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.pickAgainLater(wait);
      return;
    }
    const picked = await pickProbe(this.held.map((entry) => entry.message)).catch(() => -1);
    if (this.stopping || !Number.isInteger(picked) || picked < 0 || picked >= this.held.length) return;
    this.lastProbeAt = Date.now();
    this.probing += 1;
    this.launch(this.held.splice(picked, 1)[0]!, "probe");
  }

  /**
   * Over the look-ahead (the lane's queue is read on while it is full), as many held messages as
   * it is over go to the backlog, chosen by one pickSpill call, or none if pickSpill names none
   * (every held tenant runs nothing: neighbours, who take the next slots).
   */
  private async startSpills(): Promise<void> {
    const { pickSpill } = this.options;
    if (!pickSpill) return;
    this.spillBlocked = false;
    const count = Math.min(-this.room(), MAX_SPILLS_IN_FLIGHT - this.spilling);
    if (this.stopping || count <= 0) return;
    // Only what came from the lane's queue: a message taken from the backlog and spilled back
    // could bounce between the two (the backlog's long poll can return just after the look-ahead
    // filled). The backlog's overshoot is bounded by its batch, sized to the room.
    const candidates = this.held.filter((entry) => entry.queueUrl === this.options.queueUrl);
    if (candidates.length === 0) return;
    const picked = await pickSpill(
      candidates.map((entry) => entry.message),
      count,
    ).catch((): number[] => []);
    if (this.stopping) return;
    const chosen = [...new Set(picked)]
      .filter((index) => Number.isInteger(index) && index >= 0 && index < candidates.length)
      .slice(0, count)
      .map((index) => candidates[index]!);
    if (chosen.length === 0) {
      this.spillBlocked = true;
      return;
    }
    for (const entry of chosen) {
      // Entries are only appended while this runs (startHeld is one loop at a time): still held.
      const at = this.held.indexOf(entry);
      if (at === -1) continue;
      this.probing += 1;
      this.spilling += 1;
      this.launch(this.held.splice(at, 1)[0]!, "spill");
    }
  }

  private pickAgainLater(delayMs = PICK_AGAIN_MS): void {
    if (this.pickTimer) return;
    this.pickTimer = setTimeout(() => {
      this.pickTimer = undefined;
      void this.startHeld();
    }, delayMs);
    this.pickTimer.unref();
  }

  private launch(entry: Held, as: "job" | "probe" | "spill" = "job"): void {
    const { message, controller } = entry;
    const id = message.MessageId ?? message.ReceiptHandle ?? String(Math.random());
    const task = this.run(entry, this.held.length, as).finally(() => {
      this.running.delete(id);
      if (as !== "job") this.probing -= 1;
      if (as === "spill") this.spilling -= 1;
      const waiters = this.slotWaiters;
      this.slotWaiters = [];
      for (const wake of waiters) wake();
      void this.startHeld();
    });
    this.running.set(id, { task, controller });
  }

  private waitForRoom(): Promise<void> {
    if (this.room() > 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /**
   * With a backlog, the lane's queue is received from again at once unless spills cannot keep
   * up (too many under way) or cannot go on (pickSpill named none with the look-ahead over).
   * Woken whenever a job or spill ends.
   */
  private async waitForSpillRoom(): Promise<void> {
    while (!this.stopping && (this.spilling >= MAX_SPILLS_IN_FLIGHT || (this.spillBlocked && this.room() < 0))) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      if (this.room() < 0 && this.spilling < MAX_SPILLS_IN_FLIGHT) await this.startHeld();
    }
  }

  private async run(
    { message, queueUrl, controller, stopHeartbeat }: Held,
    heldBehind: number,
    as: "job" | "probe" | "spill",
  ): Promise<void> {
    const { logger } = this.options;
    const receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
    let outcome: MessageAction;
    try {
      outcome = await this.options.handler({
        message,
        signal: controller.signal,
        receiveCount,
        heldBehind,
        ...(as === "probe" ? { probe: true } : {}),
        ...(as === "spill" ? { spill: true } : {}),
      });
    } catch (error) {
      // The handler classifies its own failures; reaching here is a bug. Keep the message.
      logger.error({ err: error, messageId: message.MessageId }, "message handler threw; message kept for redelivery");
      outcome = { action: "keep" };
    } finally {
      stopHeartbeat();
    }
    // A job released by shutdown goes back once this worker's last receive has ended: that
    // receive could otherwise take it again, and each receive counts towards maxReceiveCount.
    if (outcome.action === "release" && this.receiveEnded) await this.receiveEnded;
    await this.settle(message, outcome, queueUrl);
  }

  private async settle(message: Message, outcome: MessageAction, queueUrl: string): Promise<void> {
    const { sqs, logger } = this.options;
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
    if (this.pickTimer) clearTimeout(this.pickTimer);
    // Held messages never started go back to the queue for another worker — once the receive
    // under way has ended, so this worker's own last receive cannot take them again (each
    // receive counts towards the redrive policy's maxReceiveCount).
    this.receiveEnded = this.stopReceiving();
    const receiveEnded = this.receiveEnded.then(() => this.releaseHeld());
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

  private async releaseHeld(): Promise<void> {
    const held = this.held.splice(0);
    for (const entry of held) entry.stopHeartbeat();
    await Promise.all(held.map((entry) => this.settle(entry.message, { action: "release" }, entry.queueUrl)));
    if (held.length > 0)
      this.options.logger.info({ released: held.length }, "stopping: held messages released unstarted");
  }

  /**
   * No new receive starts; the one under way (if any) ends on its own within `waitTimeSeconds`,
   * and what it brings is released by {@link accept}. A receive that outlives that by a margin
   * (a stalled connection) is given up on: its message, if any, reappears after its timeout.
   */
  private async stopReceiving(): Promise<void> {
    const receivers = this.backlog ? [this.consumer, this.backlog] : [this.consumer];
    for (const receiver of receivers) receiver.stop();
    const polling = () => receivers.some((receiver) => receiver.status.isPolling);
    const deadline = Date.now() + (this.options.waitTimeSeconds + RECEIVE_END_MARGIN_SEC) * 1000;
    while (polling() && Date.now() < deadline) await sleep(RECEIVE_END_POLL_MS);
    if (polling())
      this.options.logger.warn(
        { waitTimeSeconds: this.options.waitTimeSeconds },
        "stopping: a receive did not end in time; any message it got reappears after its visibility timeout",
      );
  }
}

/** How soon held messages are offered to `pickNext` again after it let none start. */
const PICK_AGAIN_MS = 500;

/** How long past `waitTimeSeconds` a receive may take to end before stop gives up on it. */
const RECEIVE_END_MARGIN_SEC = 5;
const RECEIVE_END_POLL_MS = 50;
