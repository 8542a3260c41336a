import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { spawnWorker } from "../helpers/worker-process.ts";
import { outputKeyOf } from "../helpers/outputs.ts";

const PLUGIN = "./tests/fixtures/slow.processor.ts";

describe("crashes and duplicate deliveries across worker processes", () => {
  let stack: TestStack;
  let markers: string;
  before(async () => {
    markers = await mkdtemp(path.join(os.tmpdir(), "mp-markers-"));
    stack = await startTestStack({ noWorker: true, processors: [createSlowProcessor(300, markers)] });
  });
  after(async () => {
    await stack.stop();
    await rm(markers, { recursive: true, force: true });
  });

  const processedCount = async (jobId: string) =>
    (await readdir(markers)).filter((name) => name.startsWith(jobId)).length;

  test("SIGKILL mid-job: the message reappears, the dead lease expires, the job completes exactly once, and leftovers are cleaned", async () => {
    const doomed = spawnWorker(
      stack.envFor({
        PROCESSOR_MODULES: PLUGIN,
        SLOW_PROCESSOR_MS: "60000",
        SLOW_PROCESSOR_MARKER_DIR: markers,
        SQS_VISIBILITY_TIMEOUT: "10",
        WORKER_ID: "doomed-worker",
      }),
    );
    const jobId = await stack.uploadAndNotify("crash/killed.txt", "SLOW killed");
    await stack.waitForJob(jobId, (job) => job.status === "processing");
    const orphan = path.join(stack.tempDir, "doomed-worker");
    assert.ok((await readdir(orphan)).length > 0, "the doomed worker has a job dir");
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    // Wait until its heartbeat key has expired (three beats of 1 s in tests).
    await sleep(3_500);
    const rescuer = await stack.startAnotherWorker({ SQS_VISIBILITY_TIMEOUT: "10" });
    assert.deepEqual(
      await readdir(stack.tempDir).then((names) => names.filter((name) => name === "doomed-worker")),
      [],
      "the dead worker's temp folder was removed at start",
    );
    const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 60_000);
    assert.equal(job.attempts, 2);
    assert.ok(
      job.timeline.some((entry) => entry.event === "lease-expired"),
      job.timeline.map((entry) => entry.event).join(","),
    );
    assert.equal(await processedCount(jobId), 1, "processed to the end exactly once");
    await rescuer.stop(1_000);
  });

  test("the same event sent many times to two worker processes produces one job and one set of outputs", async () => {
    const env = stack.envFor({
      PROCESSOR_MODULES: PLUGIN,
      SLOW_PROCESSOR_MS: "800",
      SLOW_PROCESSOR_MARKER_DIR: markers,
      MEDIA_PROCESSOR_CONCURRENCY: "4",
    });
    const workers = [spawnWorker({ ...env, WORKER_ID: "twin-a" }), spawnWorker({ ...env, WORKER_ID: "twin-b" })];
    const key = "dup/many.txt";
    const { eTag } = await stack.upload(key, "SLOW duplicated");
    await Promise.all(Array.from({ length: 12 }, () => stack.sendEvent(key, eTag)));
    const { jobIdFor } = await import("../../src/jobs/job.model.ts");
    const jobId = jobIdFor({ bucket: stack.bucket, key, eTag });
    const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 60_000);
    await stack.waitForEmptyQueue("every duplicate removed", 30_000);
    assert.deepEqual(await stack.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 }, "every duplicate was removed");
    assert.equal(await processedCount(jobId), 1, "processed once");
    assert.equal(job.attempts, 1);
    assert.deepEqual(await stack.listKeys("dup/processed/"), [
      outputKeyOf(job, "done.txt"),
      "dup/processed/many.txt_manifest.json",
    ]);
    for (const worker of workers) worker.child.kill("SIGTERM");
    assert.deepEqual(await Promise.all(workers.map((worker) => worker.exited)), [0, 0]);
  });
});
