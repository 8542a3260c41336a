import { ChangeMessageVisibilityCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { SQS_MAX_VISIBILITY_SEC } from "../config/sqs-limits.ts";
import type { Logger } from "../logger.ts";

/** SQS refuses to keep a message in flight more than 12 hours after its first receive (the same limit as a visibility timeout). */
export const SQS_MAX_IN_FLIGHT_SEC = SQS_MAX_VISIBILITY_SEC;
/** Stop short of the hard limit so the job can still be failed and the message deleted. */
const LIMIT_MARGIN_SEC = 120;

export interface HeartbeatOptions {
  sqs: SQSClient;
  queueUrl: string;
  receiptHandle: string;
  visibilityTimeoutSec: number;
  intervalSec: number;
  /** When this receive started (ms). */
  receivedAtMs: number;
  logger: Logger;
  /** Called once when another extension would cross the 12 hour limit. */
  onLimit(): void;
}

/** Keeps a message invisible while its job runs. Returns a stop function. */
export function startVisibilityHeartbeat(options: HeartbeatOptions): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void beat();
  }, options.intervalSec * 1000);
  timer.unref();

  async function beat(): Promise<void> {
    if (stopped) return;
    const elapsedSec = (Date.now() - options.receivedAtMs) / 1000;
    const remainingSec = Math.floor(SQS_MAX_IN_FLIGHT_SEC - LIMIT_MARGIN_SEC - elapsedSec);
    const extendSec = Math.min(options.visibilityTimeoutSec, remainingSec);
    if (extendSec <= options.intervalSec) {
      stop();
      options.onLimit();
      return;
    }
    try {
      await options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: options.queueUrl,
          ReceiptHandle: options.receiptHandle,
          VisibilityTimeout: extendSec,
        }),
      );
    } catch (error) {
      options.logger.warn({ err: error }, "visibility heartbeat failed; the message may reappear before the job ends");
    }
  }

  function stop(): void {
    stopped = true;
    clearInterval(timer);
  }
  return stop;
}
