import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { Gauge } from "prom-client";
import type { Logger } from "../logger.ts";

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

export async function getQueueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Polls queue depths into `media_queue_messages{queue,state}`. Returns a stop function. */
export function startQueueDepthPoller(
  sqs: SQSClient,
  queues: Array<{ name: string; url: string | undefined }>,
  gauge: Gauge<"queue" | "state">,
  intervalMs: number,
  logger: Logger,
): () => void {
  const poll = async () => {
    for (const queue of queues) {
      if (!queue.url) continue;
      try {
        const depth = await getQueueDepth(sqs, queue.url);
        gauge.set({ queue: queue.name, state: "visible" }, depth.visible);
        gauge.set({ queue: queue.name, state: "in_flight" }, depth.inFlight);
        gauge.set({ queue: queue.name, state: "delayed" }, depth.delayed);
      } catch (error) {
        logger.warn({ err: error, queue: queue.name }, "could not read queue depth");
      }
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
