import { GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ReadinessCheck } from "../metrics/health.server.ts";

/**
 * The `sqs` readiness check: every queue this process reads or sends to answers. With lanes a
 * worker serving only the video lane still forwards to, and defers on, other lanes' queues, so
 * one unreachable lane queue makes the process not ready rather than failing jobs one by one.
 */
export function queuesReadiness(sqs: SQSClient, queueUrls: ReadonlyArray<string | undefined>): ReadinessCheck {
  const urls = [...new Set(queueUrls.filter((url): url is string => url !== undefined && url !== ""))];
  return {
    name: "sqs",
    check: async () => {
      await Promise.all(
        urls.map((url) => sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }))),
      );
      return true;
    },
  };
}
