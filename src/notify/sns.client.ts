import { SNSClient } from "@aws-sdk/client-sns";
import type { AppConfig } from "../config/config.ts";
import { disabledPublisher, snsJobEventPublisher, type JobEventPublisher } from "./job-event.publisher.ts";

/** Credentials come from the SDK's default chain (env, IRSA / pod identity, instance role). */
export function createSnsClient(aws: AppConfig["aws"]): SNSClient {
  return new SNSClient({ region: aws.region, ...(aws.endpointUrl ? { endpoint: aws.endpointUrl } : {}), maxAttempts: 3 });
}

/** The configured job-event publisher and what to destroy at shutdown (nothing when events are off). */
export function createJobEventPublisher(config: AppConfig): { publisher: JobEventPublisher; close: () => void } {
  if (!config.events.topicArn) return { publisher: disabledPublisher, close: () => undefined };
  const sns = createSnsClient(config.aws);
  return { publisher: snsJobEventPublisher(sns, config.events.topicArn), close: () => sns.destroy() };
}
