import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { workerFolderName } from "../../src/pipeline/temp-dirs.ts";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { transparentPng, truncatedJpeg } from "../helpers/generate-images.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The API with a real worker: a job enqueued through the API is processed and its previews are
 * served through presigned URLs; retry and cancel act on jobs a worker holds, including the
 * races (cancel during processing, cancel against the claim, two retries at once). Text uploads
 * go to the slow plug-in (30 s unless cancelled), images to the real image processor.
 */
type Outputs = {
  bucket: string;
  outputs: Array<{
    key: string;
    variant: string;
    contentType: string;
    url: string;
    preview: string;
    width?: number;
    height?: number;
  }>;
  manifest: { key: string; url: string } | null;
};
type Enqueued = { jobs: Array<{ id: string; status: string }> };

describe("job lifecycle through the API with a worker", () => {
  let t: ApiTestStack;
  const isProcessingStep = (job: JobRecord) =>
    job.status === "processing" && job.timeline.some((entry) => entry.event === "processing");

  before(async () => {
    t = await startApiTestStack({
      processors: [createSlowProcessor(30_000)],
      env: { MEDIA_PROCESSOR_CONCURRENCY: "4" },
    });
  });
  after(async () => {
    await t.stop();
  });

  test("an upload enqueued through the API completes; its previews load from presigned URLs", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-logo.png";
    const { eTag } = await t.stack.upload(key, await transparentPng());
    const enqueued = await t.call<Enqueued>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key, eTag }])),
    });
    assert.equal(enqueued.status, 202);
    const id = enqueued.body.jobs[0]!.id;
    await t.stack.waitForJob(id);
    const job = await t.call<JobRecord>("GET", `/api/media/jobs/${id}`);
    assert.equal(job.body.status, "completed", JSON.stringify(job.body.error));
    assert.equal(job.body.type, "image");
    const events = job.body.timeline.map((entry) => entry.event);
    assert.deepEqual(events.slice(-2), ["manifest-written", "completed"]);
    assert.ok(events.includes("received") && events.includes("detected"));

    const outputs = await t.call<Outputs>("GET", `/api/media/jobs/${id}/outputs`);
    assert.equal(outputs.status, 200);
    const previews = outputs.body.outputs.filter((output) => output.preview === "image");
    assert.deepEqual(previews.map((output) => output.variant).sort(), [
      "avif",
      "optimized",
      "thumb_large",
      "thumb_medium",
      "thumb_small",
      "webp",
    ]);
    for (const output of previews) {
      const url = new URL(output.url);
      assert.ok(url.searchParams.get("X-Amz-Signature"), "presigned");
      const response = await fetch(output.url);
      assert.equal(response.status, 200, output.key);
      const metadata = await sharp(Buffer.from(await response.arrayBuffer())).metadata();
      assert.equal(metadata.width, output.width, `${output.variant} is the image the result describes`);
    }
    const manifest = (await (await fetch(outputs.body.manifest!.url)).json()) as { jobId: string };
    assert.equal(manifest.jobId, id);
  });

  test("a completed job is retried only with force=true, and is then processed again", async () => {
    const id = await t.stack.uploadAndNotify("force/again.png", await transparentPng());
    await t.stack.waitForJob(id);
    const refused = await t.call<{ code: string; jobStatus: string }>("POST", `/api/media/jobs/${id}/retry`);
    assert.deepEqual(
      [refused.status, refused.body.code, refused.body.jobStatus],
      [409, "job-not-retryable", "completed"],
    );
    const forced = await t.call<{ job: JobRecord }>("POST", `/api/media/jobs/${id}/retry?force=true`);
    assert.equal(forced.status, 202);
    assert.equal(forced.body.job.result, undefined, "the old result is cleared");
    const again = await t.stack.waitForJob(id, (job) => job.status === "completed" && job.attempts === 2);
    assert.equal(again.timeline.filter((entry) => entry.event === "completed").length, 2);
    assert.ok(again.timeline.some((entry) => entry.event === "retry-requested" && entry.detail?.force === true));
  });

  test("cancel during processing: the worker aborts within seconds, removes its temp files and writes no outputs", async () => {
    const id = await t.stack.uploadAndNotify("slow/cancel-me.txt", "SLOW and steady");
    await t.stack.waitForJob(id, isProcessingStep, 20_000);
    const requested = await t.call<{ job: JobRecord; outcome: string }>("DELETE", `/api/media/jobs/${id}`);
    assert.equal(requested.status, 202);
    assert.equal(requested.body.outcome, "cancel-requested");
    assert.equal(requested.body.job.cancelRequested, true);
    // The slow processor would take 30 s; the cancel must stop it long before.
    const cancelled = await t.stack.waitForJob(id, (job) => job.status === "cancelled", 10_000);
    assert.equal(cancelled.error?.category, "cancelled");
    assert.deepEqual(await t.stack.listKeys("slow/processed/"), [], "no output and no manifest");
    const workerTemp = path.join(t.stack.tempDir, workerFolderName(t.stack.config.workerId));
    assert.deepEqual(
      (await readdir(workerTemp)).filter((name) => name.startsWith(id)),
      [],
      "temp dir removed",
    );
    await waitFor(async () => {
      const depth = await t.stack.queueDepth();
      return depth.visible + depth.inFlight === 0;
    }, "the message is deleted");
    const again = await t.call<{ code: string }>("DELETE", `/api/media/jobs/${id}`);
    assert.deepEqual([again.status, again.body.code], [409, "job-finished"]);
  });

  test("a cancelled job retried runs again; retrying it while it runs is a 409; cancelling again stops it", async () => {
    const id = await t.stack.uploadAndNotify("slow/retry-me.txt", "SLOW again");
    await t.stack.waitForJob(id, isProcessingStep, 20_000);
    await t.call("DELETE", `/api/media/jobs/${id}`);
    await t.stack.waitForJob(id, (job) => job.status === "cancelled", 10_000);
    assert.equal((await t.call("POST", `/api/media/jobs/${id}/retry`)).status, 202);
    const running = await t.stack.waitForJob(id, (job) => isProcessingStep(job) && job.attempts === 2, 20_000);
    assert.equal(running.cancelRequested, undefined);
    const whileRunning = await t.call<{ jobStatus: string }>("POST", `/api/media/jobs/${id}/retry`);
    assert.deepEqual([whileRunning.status, whileRunning.body.jobStatus], [409, "processing"]);
    assert.equal((await t.call("DELETE", `/api/media/jobs/${id}`)).status, 202);
    const final = await t.stack.waitForJob(id, (job) => job.status === "cancelled", 10_000);
    assert.equal(final.attempts, 2);
  });

  test("a cancel racing the worker's claim ends cancelled either way, never processed to the end", async () => {
    const key = "slow/race.txt";
    const { eTag } = await t.stack.upload(key, "SLOW race");
    const enqueued = await t.call<Enqueued>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key, eTag }])),
    });
    const id = enqueued.body.jobs[0]!.id;
    const cancel = await t.call<{ outcome: string }>("DELETE", `/api/media/jobs/${id}`);
    assert.ok([200, 202].includes(cancel.status), cancel.text);
    const job = await t.stack.waitForJob(id, (record) => record.status === "cancelled", 10_000);
    assert.equal(
      job.timeline.some((entry) => entry.event === "completed"),
      false,
    );
    await waitFor(async () => {
      const depth = await t.stack.queueDepth();
      return depth.visible + depth.inFlight === 0;
    }, "the queued message is skipped and deleted when it arrives");
    assert.equal((await t.stack.store.get(id))?.status, "cancelled");
  });

  test("two retries of a failed job at once: one requeues it, it is processed once more, not twice", async () => {
    const id = await t.stack.uploadAndNotify("broken/cut.jpg", await truncatedJpeg());
    const failed = await t.stack.waitForJob(id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.category, "processing");
    const answers = await Promise.all([
      t.call("POST", `/api/media/jobs/${id}/retry`),
      t.call("POST", `/api/media/jobs/${id}/retry`),
    ]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [202, 409]);
    const again = await t.stack.waitForJob(id, (job) => job.status === "failed" && job.attempts === 2);
    await waitFor(async () => {
      const depth = await t.stack.queueDepth();
      return depth.visible + depth.inFlight + depth.delayed === 0;
    }, "queue drained");
    const final = await t.stack.store.get(id);
    assert.equal(final?.attempts, 2, "processed exactly once more");
    assert.equal(again.timeline.filter((entry) => entry.event === "received").length, 2);
  });
});
