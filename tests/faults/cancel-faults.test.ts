import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { outputKey, outputLayout, runToken } from "../../src/storage/output-keys.ts";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { createUploadingProcessor } from "../fixtures/uploading.processor.ts";
import { startApiTestStack, type ApiTestStack } from "../api/api-harness.ts";

/**
 * Cancels that cannot be lost. (1) The worker's cancel-channel subscriber is cut off — it
 * points at a TCP endpoint that accepts and never answers, so it stays "connecting" and every
 * pub/sub hint is lost — yet a cancel through the API still stops the job: the durable flag is
 * read on the next lease renewal (JOB_LEASE_RENEW_INTERVAL, 1 s here). Without that, the slow
 * job would run its full 60 s. (2) A cancel while outputs are being uploaded deletes the ones
 * already written before the job is recorded cancelled.
 */
describe("durable cancel", () => {
  let t: ApiTestStack;
  let blackhole: net.Server;
  const sockets = new Set<net.Socket>();

  before(async () => {
    blackhole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
    const { port } = blackhole.address() as net.AddressInfo;
    t = await startApiTestStack({
      processors: [createUploadingProcessor(3), createSlowProcessor(60_000)],
      env: { JOB_LEASE_RENEW_INTERVAL: "1", MEDIA_PROCESSOR_CONCURRENCY: "2" },
      workerOptions: { cancelSubscriberUrl: `redis://127.0.0.1:${port}` },
    });
  });
  after(async () => {
    await t?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackhole.close(resolve));
  });

  test("a cancel whose pub/sub message is lost still stops the job, seen on the lease renewal", async () => {
    const id = await t.stack.uploadAndNotify("tenants/acme/users/u1/media/slow.txt", "SLOW and steady");
    await t.stack.waitForJob(
      id,
      (job) => job.status === "processing" && job.timeline.some((entry) => entry.event === "processing"),
      20_000,
    );
    assert.ok(sockets.size > 0, "the subscriber is connected to the black hole, not to Redis");
    const requested = await t.call<{ outcome: string }>("DELETE", `/api/media/jobs/${id}`);
    assert.equal(requested.status, 202);
    const cancelled = await t.stack.waitForJob(id, (job) => job.status === "cancelled", 20_000);
    const events = cancelled.timeline.map((entry) => entry.event);
    assert.deepEqual(
      cancelled.timeline.find((entry) => entry.event === "cancel-seen")?.detail,
      { by: "lease-renewal" },
      events.join(","),
    );
    assert.ok(events.indexOf("cancel-requested") < events.indexOf("cancel-seen"));
    assert.equal(cancelled.error?.category, "cancelled");
  });

  test("a cancel during upload deletes the outputs already written before the job is recorded cancelled", async () => {
    const key = "tenants/acme/users/u1/media/1700000000-upload.txt";
    const id = await t.stack.uploadAndNotify(key, "UPLOAD three parts");
    const partsUp = (job: JobRecord) => job.timeline.some((entry) => entry.event === "parts-uploaded");
    await t.stack.waitForJob(id, partsUp, 20_000);
    const written = await t.stack.listKeys("tenants/acme/users/u1/media/processed/");
    // Mid-job there is no result to read the run from: the first claim's run token names the keys.
    const layout = outputLayout(key, "processed", runToken(id, 1));
    assert.deepEqual(
      written,
      [1, 2, 3].map((n) => outputKey(layout, `part_${n}.bin`)),
      "three parts are in S3 mid-job",
    );
    assert.equal((await t.call("DELETE", `/api/media/jobs/${id}`)).status, 202);
    const cancelled = await t.stack.waitForJob(id, (job) => job.status === "cancelled", 20_000);
    assert.deepEqual(
      await t.stack.listKeys("tenants/acme/users/u1/media/processed/"),
      [],
      "nothing of the cancelled job is left",
    );
    assert.deepEqual(cancelled.timeline.find((entry) => entry.event === "outputs-removed")?.detail, {
      count: 3,
      reason: "cancelled",
    });
    const events = cancelled.timeline.map((entry) => entry.event);
    assert.ok(
      events.indexOf("outputs-removed") < events.lastIndexOf("cancelled"),
      "removed before the cancel was recorded",
    );
  });
});
