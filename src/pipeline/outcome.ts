import type { AppConfig } from "../config/config.ts";
import { abortError, type AbortReason, type ErrorCategory, type JobErrorInfo, type MediaError } from "../errors.ts";
import { terminalStatusOf } from "../jobs/job.model.ts";
import type { PublishOutcome } from "../job-events/job-event.publisher.ts";
import { retryDelaySec } from "../queue/backoff.ts";
import type { MessageAction } from "../queue/media.consumer.ts";

/**
 * The message-fate table: the one place that decides, for everything that can happen to one
 * delivery, what the job record becomes, what the queue does with the message, which metrics
 * count it and how loudly it is logged. The runner, the message handler and the consumer only
 * carry out what {@link decide} returns. Pure: no clock, no IO, no randomness (the back-off delay
 * is drawn once per delivery, in {@link receiveOf}).
 */

/** What happened to one object of a message (or to the message itself). */
export type FateEvent =
  /** The body is not an S3 event at all. */
  | { kind: "unparseable"; reason: string }
  /** Redis did not answer the claim. */
  | { kind: "claim-failed" }
  /** Another worker holds a live lease; `otherMessage`: it works from a different message than this one. */
  | { kind: "busy"; otherMessage: boolean }
  /** The job reached a terminal state before (or was cancelled while queued). */
  | { kind: "finished-before"; status: "completed" | "failed" | "cancelled" }
  /** The run produced its result (its outputs are stored and published). */
  | { kind: "success" }
  /** The run planned a chunked video and sent its chunk tasks (src/pipeline/chunked): they finish the job. */
  | { kind: "handed-off" }
  /** The run failed; `abortReason` is what the job's signal says really happened. */
  | { kind: "error"; error: MediaError; abortReason?: AbortReason };

/** The delivery's receive count against the queue's maxReceiveCount, and its back-off delay. */
export interface Receive {
  receiveCount: number;
  maxReceives: number;
  retryDelaySec: number;
}

/**
 * How carrying out the job transition went: `ok`, `lost` (the lease had passed to another
 * worker: the transition was refused), `store-down` (Redis threw). Before it was tried, `ok`.
 */
export type Recorded = "ok" | "lost" | "store-down";

export interface FateFacts {
  event: FateEvent;
  receive: Receive;
  recorded?: Recorded;
  /** How publishing the job's terminal state (its job event) went; absent until it was tried. */
  publish?: PublishOutcome;
}

/** What the job record becomes (carried out by the runner through JobStore). */
export type JobTransition =
  | { kind: "none" }
  | { kind: "complete" }
  /** processing → queued: `released` on shutdown, `retry-scheduled` after a transient failure. */
  | { kind: "release"; event: "released" | "retry-scheduled"; error?: JobErrorInfo; detail: Record<string, unknown> }
  /** processing → failed | cancelled (JobStore.fail derives the same status from the error). */
  | { kind: "finish"; status: "failed" | "cancelled"; error: JobErrorInfo; detail?: Record<string, unknown> };

/** Counters to increment; the runner adds the job's `type` label where the metric has one. */
export interface MetricLabels {
  jobErrors?: { category: ErrorCategory };
  jobsTotal?: { status: "completed" | "failed" | "cancelled" };
  /** Observe the job's duration (completed jobs). */
  jobDuration?: true;
  messagesDropped?: { reason: string };
}

export type LogLevel = "info" | "warn" | "error";

export interface Fate {
  jobTransition: JobTransition;
  /** Publish the job event once the transition is recorded, then decide again with its outcome. */
  publish: boolean;
  messageAction: MessageAction;
  metricLabels: MetricLabels;
  /** Absent: nothing to log here (the job-event publisher already logged why). */
  log?: { level: LogLevel; message: string };
  /** The error the job records (an abort turned into what the signal says). */
  error?: MediaError;
}

const NO_METRICS: MetricLabels = {};

/** The facts of a delivery; the jittered back-off delay is drawn here, once. */
export function receiveOf(
  receiveCount: number,
  queue: AppConfig["queue"],
  random: () => number = Math.random,
): Receive {
  return {
    receiveCount,
    maxReceives: queue.maxReceives,
    retryDelaySec: retryDelaySec(receiveCount, queue.retryBackoffBaseSec, queue.retryBackoffMaxSec, random),
  };
}

export function decide(facts: FateFacts): Fate {
  const { event } = facts;
  switch (event.kind) {
    case "unparseable":
      return fate(
        { kind: "none" },
        { action: "delete" },
        { messagesDropped: { reason: `invalid-${event.reason}` } },
        "warn",
        "message is not an S3 upload event; removed",
      );
    case "claim-failed":
      return fate(
        { kind: "none" },
        retry(facts),
        NO_METRICS,
        "error",
        "could not claim job (Redis unavailable?); message kept",
      );
    case "busy":
      // A different message for the same object is a duplicate and can go: if that worker dies, its
      // own message comes back. The same message redelivered (its visibility lapsed) must stay, or a
      // crash would lose the job.
      return event.otherMessage
        ? fate(
            { kind: "none" },
            { action: "delete" },
            { messagesDropped: { reason: "duplicate" } },
            "info",
            "duplicate delivery of a job in progress elsewhere; message removed",
          )
        : fate(
            { kind: "none" },
            { action: "keep" },
            NO_METRICS,
            "info",
            "job is being processed by another worker; leaving this delivery",
          );
    case "finished-before":
      // Its event may still be owed: the message ends only once it is out.
      if (facts.publish === "failed")
        return {
          jobTransition: { kind: "none" },
          publish: true,
          messageAction: retry(facts),
          metricLabels: NO_METRICS,
        };
      return {
        ...fate(
          { kind: "none" },
          { action: "delete" },
          { messagesDropped: { reason: "duplicate" } },
          "info",
          "duplicate delivery of a finished job; message removed",
        ),
        publish: true,
      };
    case "success":
      return decideSuccess(facts);
    case "handed-off":
      // The plan and every chunk message are stored: the event message is no longer needed to finish the job.
      return fate({ kind: "none" }, { action: "delete" }, NO_METRICS, "info", "job handed to its chunk tasks");
    case "error":
      return decideError(facts, event);
  }
}

function decideSuccess(facts: FateFacts): Fate {
  const complete: JobTransition = { kind: "complete" };
  if (facts.recorded === "lost")
    return fate(
      complete,
      { action: "keep" },
      NO_METRICS,
      "warn",
      "another worker took this job over while it ran; leaving the outcome to it",
    );
  // (A complete that Redis does not take is retried, then becomes an error of the run: see the runner.)
  return {
    ...fate(
      complete,
      afterPublish(facts),
      { jobsTotal: { status: "completed" }, jobDuration: true },
      "info",
      "job completed",
    ),
    publish: true,
  };
}

function decideError(facts: FateFacts, event: Extract<FateEvent, { kind: "error" }>): Fate {
  const { receive } = facts;
  // An abort shows up as whatever the interrupted step threw; the signal says what really happened.
  const error = event.abortReason ? abortError(event.abortReason) : event.error;
  const jobErrors = { category: error.category };
  const transition = errorTransition(error, event.abortReason, receive);
  if (facts.recorded === "store-down") {
    return {
      ...fate(
        transition,
        retry(facts),
        { jobErrors },
        "error",
        "could not record the job's failure (Redis unavailable?); message kept",
      ),
      error,
    };
  }
  // A refused transition (`lost`) is carried on like a recorded one, as the runner always did.
  if (transition.kind === "release") {
    return transition.event === "released"
      ? {
          ...fate(
            transition,
            { action: "release" },
            { jobErrors },
            "info",
            "job released on shutdown; message visible again",
          ),
          error,
        }
      : { ...fate(transition, retry(facts), { jobErrors }, "warn", "job failed transiently; retrying later"), error };
  }
  if (transition.kind !== "finish") throw new Error(`unexpected transition ${transition.kind}`);
  const metricLabels: MetricLabels = { jobErrors, jobsTotal: { status: transition.status } };
  if (error.retryable) {
    // The last receive: the message stays either way and the redrive policy moves it to the DLQ; if
    // the publish fails too, a redrive from the DLQ publishes it.
    return {
      ...fate(
        transition,
        retry(facts),
        metricLabels,
        "error",
        "job failed after its last retry; message left for the DLQ",
      ),
      publish: true,
      error,
    };
  }
  const message = transition.status === "cancelled" ? "job cancelled" : "job failed";
  return { ...fate(transition, afterPublish(facts), metricLabels, "warn", message), publish: true, error };
}

/** Shutdown releases; a retryable error is retried until the last receive, then fails; anything else fails (or cancels) now. */
function errorTransition(error: MediaError, abortReason: AbortReason | undefined, receive: Receive): JobTransition {
  const jobError = error.toJobError();
  if (abortReason === "shutdown")
    return { kind: "release", event: "released", detail: { reason: "worker shutting down" } };
  if (error.retryable && receive.receiveCount < receive.maxReceives) {
    return {
      kind: "release",
      event: "retry-scheduled",
      error: jobError,
      detail: { attempt: receive.receiveCount, delaySec: receive.retryDelaySec },
    };
  }
  if (error.retryable) {
    return {
      kind: "finish",
      status: terminalStatusOf(jobError),
      error: jobError,
      detail: {
        attempt: receive.receiveCount,
        final: true,
        dlq: "the queue's redrive policy moves the message to the DLQ",
      },
    };
  }
  return { kind: "finish", status: terminalStatusOf(jobError), error: jobError };
}

/** A recorded terminal state ends the message only once its event is out; otherwise the message returns later to publish it. */
function afterPublish(facts: FateFacts): MessageAction {
  return facts.publish === "failed" ? retry(facts) : { action: "delete" };
}

function retry(facts: FateFacts): MessageAction {
  return { action: "retry", delaySec: facts.receive.retryDelaySec };
}

function fate(
  jobTransition: JobTransition,
  messageAction: MessageAction,
  metricLabels: MetricLabels,
  level: LogLevel,
  message: string,
): Fate {
  return { jobTransition, publish: false, messageAction, metricLabels, log: { level, message } };
}

/**
 * One message can name several objects: the least final action wins, so one object to retry
 * keeps the whole message. A message whose objects were not all run (shutdown mid-message) is
 * released.
 */
export function combineActions(actions: MessageAction[], expected: number): MessageAction {
  if (actions.some((action) => action.action === "release") || actions.length < expected) return { action: "release" };
  const delays = actions.flatMap((action) => (action.action === "retry" ? [action.delaySec] : []));
  if (delays.length > 0) return { action: "retry", delaySec: Math.max(...delays) };
  if (actions.some((action) => action.action === "keep")) return { action: "keep" };
  return { action: "delete" };
}
