import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.ts";

/** Loading the typed config (src/config/config.ts): units, defaults, derived values and the one error listing every problem. */

const baseEnv = {
  MEDIA_BUCKET: "media",
  MEDIA_PROCESSING_QUEUE_URL: "http://localhost:4566/000000000000/q",
  REDIS_URL: "redis://localhost:6379",
};

test("config: durations are read in their units (2m of processing, 120 s of visibility, 1d of status TTL)", () => {
  const config = loadConfig({
    ...baseEnv,
    PROCESSING_TIMEOUT: "2m",
    SQS_VISIBILITY_TIMEOUT: "120",
    JOB_STATUS_TTL: "1d",
  });
  assert.equal(config.jobs.processingTimeoutMs, 120_000);
  assert.equal(config.queue.visibilityTimeoutSec, 120);
  assert.equal(config.jobs.statusTtlSec, 86_400);
});

test("config: the heartbeat defaults to a third of the visibility timeout", () => {
  const config = loadConfig({
    ...baseEnv,
    PROCESSING_TIMEOUT: "2m",
    SQS_VISIBILITY_TIMEOUT: "120",
    JOB_STATUS_TTL: "1d",
  });
  assert.equal(config.queue.heartbeatIntervalSec, 40);
});

test("config: defaults for concurrency, thumbnail sizes and S3 addressing", () => {
  const config = loadConfig({
    ...baseEnv,
    PROCESSING_TIMEOUT: "2m",
    SQS_VISIBILITY_TIMEOUT: "120",
    JOB_STATUS_TTL: "1d",
  });
  assert.equal(config.queue.concurrency, 2);
  assert.deepEqual(config.image.thumbnailSizes, { small: 150, medium: 600, large: 1200 });
  assert.equal(config.aws.forcePathStyle, false);
});

test("config: an endpoint override (an emulator) turns on path-style S3 URLs", () => {
  assert.equal(loadConfig({ ...baseEnv, AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }).aws.forcePathStyle, true);
});

test("config: one error lists every missing and invalid variable", () => {
  try {
    loadConfig({ MEDIA_PROCESSOR_CONCURRENCY: "zero", SQS_BATCH_SIZE: "11", ENABLE_HLS_TRANSCODING: "maybe" });
    assert.fail("should throw");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const joined = error.problems.join("\n");
    for (const name of [
      "MEDIA_BUCKET",
      "MEDIA_PROCESSING_QUEUE_URL",
      "REDIS_URL",
      "MEDIA_PROCESSOR_CONCURRENCY",
      "SQS_BATCH_SIZE",
      "ENABLE_HLS_TRANSCODING",
    ]) {
      assert.match(joined, new RegExp(name), `${name} listed`);
    }
  }
});

test("config: a heartbeat not shorter than the visibility timeout is refused", () => {
  assert.throws(
    () => loadConfig({ ...baseEnv, SQS_VISIBILITY_TIMEOUT: "30", SQS_HEARTBEAT_INTERVAL: "30" }),
    /SQS_HEARTBEAT_INTERVAL/,
  );
});
