import { S3Client } from "@aws-sdk/client-s3";
import type { AppConfig } from "../config/config.ts";

/** Credentials come from the SDK's default chain (env, IRSA / pod identity, instance role). */
export function createS3Client(aws: AppConfig["aws"]): S3Client {
  return new S3Client({
    region: aws.region,
    ...(aws.endpointUrl ? { endpoint: aws.endpointUrl } : {}),
    forcePathStyle: aws.forcePathStyle,
    // The SDK retries throttling and 5xx itself a few times before our own back-off takes over.
    maxAttempts: 3,
  });
}
