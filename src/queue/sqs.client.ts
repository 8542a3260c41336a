import { SQSClient } from "@aws-sdk/client-sqs";
import type { AppConfig } from "../config/config.ts";

/** Credentials come from the SDK's default chain (env, IRSA / pod identity, instance role). */
export function createSqsClient(aws: AppConfig["aws"]): SQSClient {
  return new SQSClient({
    region: aws.region,
    ...(aws.endpointUrl ? { endpoint: aws.endpointUrl, useQueueUrlAsEndpoint: false } : {}),
    maxAttempts: 3,
  });
}
