import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { outputKeyOf } from "../helpers/outputs.ts";

/**
 * SIGTERM to a real worker process (`node src/cli.ts worker`) with a job in flight: with a long
 * enough grace period the job finishes before exit; with a short one the job goes back to
 * queued, its message becomes visible again, and another worker completes it. Either way the
 * process exits 0 and nothing is lost.
 */
describe("graceful shutdown of a worker process", () => {
  let stack: TestStack;
  before(async () => {
    // The in-process worker of the stack stays idle (concurrency 1, its slow processor never gets
    // work) until it is needed: the child process below consumes first.
    stack = await startTestStack({ processors: [createSlowProcessor(200)] });
    await stack.worker.stop(0);
  });
  after(async () => {
    await stack.stop();
  });

  const startChild = (env: Record<string, string>): ChildProcess => {
    const child = spawn(process.execPath, ["src/cli.ts", "worker"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: {
        ...process.env,
        ...stack.local.env,
        REDIS_KEY_PREFIX: stack.config.redis.keyPrefix,
        TEMP_DIR: stack.tempDir,
        METRICS_PORT: "0",
        SQS_WAIT_TIME_SECONDS: "1",
        SQS_VISIBILITY_TIMEOUT: "30",
        PROCESSOR_MODULES: "./tests/fixtures/slow.processor.ts",
        LOG_LEVEL: "warn",
        ...env,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    return child;
  };
  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  test("with a grace period longer than the job, the job completes before the process exits 0", async () => {
    const child = startChild({ SLOW_PROCESSOR_MS: "2500", SHUTDOWN_GRACE_PERIOD: "20" });
    const exited = exitOf(child);
    const jobId = await stack.uploadAndNotify("slow/finish-me.txt", "SLOW job");
    await stack.waitForJob(jobId, (job) => job.status === "processing");
    await sleep(300);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    const job = await stack.waitForJob(jobId, () => true);
    assert.equal(job.status, "completed", JSON.stringify(job.timeline.map((entry) => entry.event)));
    const depth = await stack.queueDepth();
    assert.equal(depth.visible + depth.inFlight, 0);
  });

  test("with a short grace period the job is released, requeued, and completed by another worker", async () => {
    const child = startChild({ SLOW_PROCESSOR_MS: "60000", SHUTDOWN_GRACE_PERIOD: "1" });
    const exited = exitOf(child);
    const jobId = await stack.uploadAndNotify("slow/release-me.txt", "SLOW job");
    await stack.waitForJob(jobId, (job) => job.status === "processing");
    const signalledAt = Date.now();
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    assert.ok(Date.now() - signalledAt < 10_000, "exit promptly after the grace period");
    const released = await stack.waitForJob(jobId, () => true);
    assert.equal(released.status, "queued");
    assert.ok(released.timeline.some((entry) => entry.event === "released"));
    const depth = await stack.queueDepth();
    assert.equal(depth.visible, 1, "the message is visible again at once");

    const rescuer = await stack.startAnotherWorker();
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed");
    assert.equal(job.attempts, 2);
    await rescuer.stop(1_000);
    const outputs = await stack.listKeys("slow/processed/");
    assert.ok(outputs.includes(outputKeyOf(job, "done.txt")), outputs.join(","));
  });

  test("a worker stopped while its receive waits keeps that receive and hands back what it brings at once", async () => {
    // Found by KEDA scaling workers in on a real cluster: aborting the long poll on stop does not
    // cancel the receive on the server (SQS and the emulator alike), which can still give it a
    // message; nobody held that message's receipt, so it stayed invisible for the whole
    // visibility timeout (5 minutes with the chart's defaults).
    const idle = await stack.startAnotherWorker({ SQS_WAIT_TIME_SECONDS: "5" });
    await sleep(500); // its first long poll is now waiting on the empty queue
    const stopped = idle.stop(5_000);
    const jobId = await stack.uploadAndNotify("slow/arrives-while-stopping.txt", "SLOW job");
    await stopped;
    const depth = await stack.queueDepth();
    assert.deepEqual(
      { visible: depth.visible, inFlight: depth.inFlight },
      { visible: 1, inFlight: 0 },
      "the message is visible again at once, not held by an abandoned receive",
    );
    const rescuer = await stack.startAnotherWorker();
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed");
    assert.equal(job.attempts, 1, "the stopping worker never started it");
    await rescuer.stop(1_000);
  });
});
