import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { transparentPng } from "../helpers/generate-images.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { runPrefixesOf } from "../helpers/outputs.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * S3 answering 503 SlowDown / 500, through a fault-injecting proxy between the worker and the
 * emulator: the failure is transient, retried with a growing back-off, and after
 * MAX_PROCESSING_RETRIES receives the redrive policy moves the message to the DLQ while the job
 * records why. A short blip is absorbed by a retry and the job completes.
 */
describe("S3 faults", () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  before(async () => {
    stack = await startTestStack({
      maxReceiveCount: 3,
      endpointFor: async (emulator) => {
        proxy = await startFaultProxy(emulator);
        return proxy.endpoint;
      },
      env: { RETRY_BACKOFF_BASE: "1", RETRY_BACKOFF_MAX: "4" },
    });
  });
  after(async () => {
    await stack.stop();
    await proxy.close();
  });

  test("persistent 503s on download: transient, backed off, failed after the last receive, message in the DLQ", async () => {
    proxy.setRule(({ method, path }) =>
      method === "GET" && path.includes("/always-503/") ? { status: 503, code: "SlowDown" } : "pass",
    );
    const jobId = await stack.uploadAndNotify("always-503/a.png", await transparentPng());
    const job = await stack.waitForJob(jobId, (record) => record.status === "failed", 60_000);
    assert.equal(job.error?.category, "transient");
    assert.equal(job.error?.code, "aws-throttled");
    const retries = job.timeline.filter((entry) => entry.event === "retry-scheduled");
    assert.equal(retries.length, 2, "two retries before the last receive");
    const delays = retries.map((entry) => Number(entry.detail?.delaySec));
    assert.ok(
      delays.every((delay) => delay >= 0 && delay <= 4),
      `capped delays ${delays}`,
    );
    assert.equal(job.attempts, 3);
    // The next receive (the 4th) exceeds maxReceiveCount: the emulator's redrive moves it to the DLQ.
    const dlq = await waitForValue(
      () => stack.queueDepth("dlq"),
      (depth) => depth.visible > 0,
      "the message moved to the DLQ",
      20_000,
      200,
    );
    assert.equal(dlq.visible, 1, "message moved to the DLQ");
    const media = await stack.queueDepth("media");
    assert.equal(media.visible + media.inFlight + media.delayed, 0);
  });

  test("a short burst of 500s is absorbed: the job completes on a later attempt", async () => {
    let failures = 0;
    proxy.setRule(({ method, path }) => {
      if (method === "GET" && path.includes("/blip/") && failures < 4) {
        failures += 1;
        return { status: 500, code: "InternalError" };
      }
      return "pass";
    });
    const jobId = await stack.uploadAndNotify("blip/b.png", await transparentPng());
    const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 60_000);
    assert.ok(job.attempts >= 2, `retried (attempts ${job.attempts})`);
    assert.ok(job.timeline.some((entry) => entry.event === "retry-scheduled"));
  });

  test("uploads failing with 503 are retried too, and nothing is deleted before outputs are stored", async () => {
    let failures = 0;
    proxy.setRule(({ method, path }) => {
      if (method === "PUT" && path.includes("/put-fail/processed/") && failures < 3) {
        failures += 1;
        return { status: 503, code: "SlowDown" };
      }
      return "pass";
    });
    const jobId = await stack.uploadAndNotify("put-fail/c.png", await transparentPng());
    const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 60_000);
    assert.equal(job.status, "completed");
    const keys = await stack.listKeys("put-fail/processed/");
    assert.ok(keys.includes("put-fail/processed/c.png_manifest.json"));
    // Whether the SDK absorbed the 503s or the job was retried as a new run with its own keys, only the final run's outputs remain.
    const [files, tree] = runPrefixesOf(job);
    assert.deepEqual(
      keys.filter((key) => !key.startsWith(files) && !key.startsWith(tree)),
      ["put-fail/processed/c.png_manifest.json"],
    );
  });
});
