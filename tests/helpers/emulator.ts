import { S3Client } from "@aws-sdk/client-s3";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../src/dev/emulator.ts";
import { createLogger } from "../../src/logger.ts";

/**
 * The bundled S3+SQS emulator on a free port, silent, as the storage and emulator tests use it:
 * one upload bucket (`media-uploads`), the redrive count and job-event topic of a default
 * deployment, notifications polled every 100 ms. `overrides` changes any of that.
 */
export const TEST_BUCKET = "media-uploads";
export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export function startTestEmulator(overrides: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  return startEmulator({
    port: 0,
    buckets: [TEST_BUCKET],
    maxReceiveCount: 2,
    notificationPollMs: 100,
    jobEventsTopic: "media-job-events",
    logger: createLogger("silent"),
    ...overrides,
  });
}

/** An S3 client for `endpoint` (the emulator's, or a fault proxy's in front of it). */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: TEST_CREDENTIALS });
}
