import { SNSClient } from "@aws-sdk/client-sns";
import type { AppConfig } from "../config/config.ts";
import { noTopic, snsJobEventTopic, type JobEventTopic } from "./job-event.topic.ts";

/** Credentials come from the SDK's default chain (env, IRSA / pod identity, instance role). */
export function createSnsClient(aws: AppConfig["aws"]): SNSClient {
  return new SNSClient({
    region: aws.region,
    ...(aws.endpointUrl ? { endpoint: aws.endpointUrl } : {}),
    maxAttempts: 3,
  });
}

/** The configured job-event topic and what to destroy at shutdown (nothing when job events are off). */
export function createJobEventTopic(config: AppConfig): { topic: JobEventTopic; close: () => void } {
  if (!config.jobEvents.topicArn) return { topic: noTopic, close: () => undefined };
  const sns = createSnsClient(config.aws);
  return { topic: snsJobEventTopic(sns, config.jobEvents.topicArn), close: () => sns.destroy() };
}
