import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import sharp from "sharp";
import { newSequencer } from "../../src/s3-events/s3-event.parser.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { throwIfAborted } from "../../src/errors.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";
import { waitFor, waitForValue } from "../helpers/wait-for.ts";

/** Text uploads: writes one output at once, then works until cancelled (a minute at most). */
const earlyOutputProcessor: Processor = {
  name: "lingering",
  accepts: (media) => media.kind === "unknown",
  async process(ctx) {
    const early = await ctx.output({
      name: "early.txt",
      variant: "early",
      body: { buffer: "written before the delete" },
      contentType: "text/plain",
    });
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      throwIfAborted(ctx.signal);
      ctx.progress(10, "lingering");
      await sleep(50);
    }
    return { outputs: [early], metadata: {} };
  },
};

/**
 * The application surface end to end, as an app's client uses it: upload URLs the SDK presigned
 * used with plain fetch, confirm, the item by key, playback info, outputs and HLS through the
 * URLs it was given, delete with nothing left in the bucket or Redis; the size cap; confirm and
 * the bucket's notification giving one job.
 */
type Upload = {
  key: string;
  method: string;
  uploadUrl: string;
  fields?: Record<string, string>;
  headers: Record<string, string>;
  maxBytes: number;
};
type Confirm = { key: string; enqueued: boolean; job: { id: string; status: string } | null };
type Item = {
  key: string;
  jobId: string;
  status: string;
  type: string;
  outputs: Array<{ variant: string; url: string; key: string }>;
  manifest: { key: string; url: string } | null;
  error?: unknown;
};
type Playback = {
  status: string;
  playback: { type: string; url: string | null };
  hls: string | null;
  poster: string | null;
  durationSec: number | null;
  width: number | null;
  height: number | null;
  aspectRatio: number | null;
  thumbnails: Array<{ variant: string; url: string }>;
};

const API_MAX_INPUT_BYTES = 3 * 1024 * 1024;

async function postForm(upload: Upload, body: Buffer, contentType: string): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields ?? {})) form.append(name, value);
  form.append("file", new Blob([body], { type: contentType }), "upload");
  return fetch(upload.uploadUrl, { method: "POST", body: form });
}

async function waitForItem(
  t: ApiTestStack,
  key: string,
  done: (item: Item) => boolean,
  timeoutMs = 240_000,
): Promise<Item> {
  const response = await waitForValue(
    () => t.call<Item>("GET", `/api/media/item?key=${encodeURIComponent(key)}`),
    (answer) => answer.status === 200 && done(answer.body),
    (last) => `item ${key} done; last: ${last?.status} ${last?.text.slice(0, 300)}`,
    timeoutMs,
    250,
  );
  return response.body;
}

const terminal = (item: Item) => ["completed", "failed", "cancelled"].includes(item.status);

describe("the application API: upload, confirm, item, playback, delete", () => {
  let t: ApiTestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "media-app-"));
    t = await startApiTestStack({
      processors: [earlyOutputProcessor],
      apiEnv: { MAX_INPUT_BYTES: String(API_MAX_INPUT_BYTES) },
    });
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a video uploaded through a presigned POST is confirmed, played through HLS and deleted with nothing left behind", async () => {
    const clip = await readFile(
      await generateClip({ width: 320, height: 180, durationSec: 2, out: path.join(dir, "clip.mp4") }),
    );
    const created = await t.call<Upload>("POST", "/api/media/uploads", {
      body: {
        contentType: "video/mp4",
        filename: "../My Holiday (1).mp4",
        tenantId: "t1",
        userId: "u1",
        size: clip.length,
      },
    });
    assert.equal(created.status, 201, created.text);
    const upload = created.body;
    assert.equal(upload.method, "POST");
    assert.match(upload.key, /^tenants\/t1\/users\/u1\/media\/\d{10}-[0-9a-f]{12}-My-Holiday-1\.mp4$/);
    const posted = await postForm(upload, clip, "video/mp4");
    assert.ok(posted.status >= 200 && posted.status < 300, `POST upload: ${posted.status}`);

    const confirmed = await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: upload.key } });
    assert.equal(confirmed.status, 202, confirmed.text);
    assert.equal(confirmed.body.enqueued, true);
    const again = await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: upload.key } });
    assert.equal(again.status, 200);
    assert.equal(again.body.job!.id, confirmed.body.job!.id, "confirming twice gives the same job");

    const item = await waitForItem(t, upload.key, terminal);
    assert.equal(item.status, "completed", JSON.stringify(item.error));
    assert.equal(item.type, "video");
    assert.equal(item.jobId, confirmed.body.job!.id);
    assert.ok(item.manifest, "the manifest is named");

    const playback = await t.call<Playback>("GET", `/api/media/item/playback?key=${encodeURIComponent(upload.key)}`);
    assert.equal(playback.status, 200, playback.text);
    assert.equal(playback.body.playback.type, "hls");
    assert.ok(playback.body.durationSec! > 1.5 && playback.body.durationSec! < 2.5, String(playback.body.durationSec));
    assert.equal(playback.body.aspectRatio, Math.round((320 / 180) * 10_000) / 10_000);
    const poster = await fetch(playback.body.poster!);
    assert.equal(poster.status, 200);
    assert.equal((await sharp(Buffer.from(await poster.arrayBuffer())).metadata()).format, "jpeg");

    // A thumbnail through the 302 route, followed like a browser's <img> would.
    const redirected = await fetch(
      `${t.baseUrl}/api/media/item/output?key=${encodeURIComponent(upload.key)}&variant=poster`,
      { headers: { authorization: `Bearer ${TEST_TOKEN}` }, redirect: "manual" },
    );
    assert.equal(redirected.status, 302);
    const thumbnail = await fetch(redirected.headers.get("location")!);
    assert.equal(thumbnail.status, 200);

    // HLS: master and rung playlists through the stream route, a segment by its redirect.
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const masterUrl = new URL(playback.body.hls!, t.baseUrl);
    const master = await (await fetch(masterUrl, { headers: auth })).text();
    assert.match(master, /^#EXTM3U/);
    const rungUri = master.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"))!;
    const rungUrl = new URL(rungUri, masterUrl);
    const rung = await fetch(rungUrl, { headers: auth });
    assert.equal(rung.status, 200);
    const rungText = await rung.text();
    const segmentUri = rungText.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"))!;
    const segmentRedirect = await fetch(new URL(segmentUri, rungUrl), { headers: auth, redirect: "manual" });
    assert.equal(segmentRedirect.status, 302, "segments are redirected, not carried by the API");
    const segment = Buffer.from(await (await fetch(segmentRedirect.headers.get("location")!)).arrayBuffer());
    assert.ok(segment.length > 188, "a segment with media in it");

    const listed = await t.call<{ items: Array<{ key: string }> }>("GET", "/api/media/items?tenant=t1&user=u1");
    assert.ok(listed.body.items.some((entry) => entry.key === upload.key));

    const outputPrefix = "tenants/t1/users/u1/media/processed/";
    assert.ok((await t.stack.listKeys(outputPrefix)).length > 5, "outputs exist before the delete");
    const deleted = await t.call<{ deleted: { jobs: number; outputs: number; source: boolean } }>(
      "DELETE",
      `/api/media/item?key=${encodeURIComponent(upload.key)}`,
    );
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.body.deleted.jobs, 1);
    assert.equal(deleted.body.deleted.source, true);
    assert.ok(deleted.body.deleted.outputs > 5);
    const base = path.posix.basename(upload.key);
    assert.deepEqual(
      (await t.stack.listKeys("tenants/t1/users/u1/media/")).filter((key) => key.includes(base)),
      [],
      "no source, output or manifest left",
    );
    const redisKeys = await t.stack.store.redis.keys(`${t.stack.store.keyPrefix}*${item.jobId}*`);
    assert.deepEqual(redisKeys, [], "no job record left");
    const indexed = await t.stack.store.searchByKey({ key: upload.key, limit: 10 });
    assert.deepEqual(indexed.jobs, []);
    assert.equal((await t.call("GET", `/api/media/item?key=${encodeURIComponent(upload.key)}`)).status, 404);
    const twice = await t.call<{ deleted: { jobs: number; outputs: number; source: boolean } }>(
      "DELETE",
      `/api/media/item?key=${encodeURIComponent(upload.key)}`,
    );
    assert.equal(twice.status, 200);
    assert.deepEqual(twice.body.deleted, { jobs: 0, outputs: 0, source: false }, "a second delete finds nothing");
  });

  test("a delete while the job runs cancels it first and leaves nothing behind", async () => {
    const created = await t.call<Upload>("POST", "/api/media/uploads", {
      body: { contentType: "text/plain", filename: "notes.txt", tenantId: "t1", userId: "u5", method: "PUT" },
    });
    const put = await fetch(created.body.uploadUrl, {
      method: "PUT",
      headers: created.body.headers,
      body: "some text the lingering processor takes",
    });
    assert.equal(put.status, 200);
    const confirmed = await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: created.body.key } });
    const id = confirmed.body.job!.id;
    await t.stack.waitForJob(
      id,
      (job) => job.status === "processing" && job.timeline.some((entry) => entry.event === "processing"),
    );
    const base = path.posix.basename(created.body.key);
    // The processor's first output is stored before it lingers.
    await waitFor(
      async () => (await t.stack.listKeys("tenants/t1/users/u5/media/processed/")).length > 0,
      "the early output appears",
      60_000,
      25,
    );
    const deleted = await t.call<{ deleted: { jobs: number; source: boolean } }>(
      "DELETE",
      `/api/media/item?key=${encodeURIComponent(created.body.key)}`,
    );
    assert.equal(deleted.status, 200, deleted.text);
    assert.deepEqual(deleted.body.deleted.jobs, 1);
    assert.deepEqual(
      (await t.stack.listKeys("tenants/t1/users/u5/media/")).filter((key) => key.includes(base)),
      [],
      "no source or output left",
    );
    assert.equal(await t.stack.store.get(id), undefined, "no job record left");
    assert.deepEqual(await t.stack.store.redis.keys(`${t.stack.store.keyPrefix}*${id}*`), []);
  });

  test("an image uploaded through a presigned PUT completes; its thumbnails come from the item's URLs", async () => {
    const png = await transparentPng();
    const created = await t.call<Upload>("POST", "/api/media/uploads", {
      body: {
        contentType: "image/png",
        filename: "logo.png",
        tenantId: "t1",
        userId: "u2",
        method: "PUT",
        size: png.length,
      },
    });
    assert.equal(created.status, 201, created.text);
    const put = await fetch(created.body.uploadUrl, {
      method: "PUT",
      headers: { "content-type": created.body.headers["content-type"]! },
      body: png,
    });
    assert.equal(put.status, 200);
    assert.equal(
      (await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: created.body.key } })).status,
      202,
    );
    const item = await waitForItem(t, created.body.key, terminal);
    assert.equal(item.status, "completed");
    const thumb = item.outputs.find((output) => output.variant === "thumb_small")!;
    const response = await fetch(thumb.url);
    assert.equal(response.status, 200);
    assert.ok((await sharp(Buffer.from(await response.arrayBuffer())).metadata()).width! > 0);
  });

  test("the POST policy caps the size at MAX_INPUT_BYTES; a declared or stored upload over it is refused", async () => {
    const created = await t.call<Upload>("POST", "/api/media/uploads", {
      body: { contentType: "video/mp4", filename: "big.mp4", tenantId: "t1", userId: "u3" },
    });
    const policy = JSON.parse(Buffer.from(created.body.fields!.Policy!, "base64").toString()) as {
      conditions: unknown[];
    };
    assert.deepEqual(
      policy.conditions.find((condition) => Array.isArray(condition) && condition[0] === "content-length-range"),
      ["content-length-range", 1, API_MAX_INPUT_BYTES],
    );
    assert.deepEqual(
      policy.conditions.find((condition) => Array.isArray(condition) && condition[0] === "eq"),
      ["eq", "$Content-Type", "video/mp4"],
    );
    assert.ok(
      policy.conditions.some((condition) => JSON.stringify(condition) === JSON.stringify({ key: created.body.key })),
      "the key is a condition too",
    );

    const declared = await t.call("POST", "/api/media/uploads", {
      body: {
        contentType: "video/mp4",
        filename: "big.mp4",
        tenantId: "t1",
        userId: "u3",
        size: API_MAX_INPUT_BYTES + 1,
      },
    });
    assert.equal(declared.status, 413);
    // The emulator does not evaluate POST policies (S3 does); the confirm is the check behind it.
    await t.stack.upload(created.body.key, Buffer.alloc(API_MAX_INPUT_BYTES + 1));
    const confirmed = await t.call<{ code: string }>("POST", "/api/media/uploads/confirm", {
      body: { key: created.body.key },
    });
    assert.equal(confirmed.status, 413);
    assert.equal(confirmed.body.code, "upload-too-large");
    assert.deepEqual((await t.stack.store.searchByKey({ key: created.body.key, limit: 10 })).jobs, [], "no job for it");
  });

  test("keys are the server's: a confirm of a key outside the tenant layout is refused", async () => {
    const outside = await t.call("POST", "/api/media/uploads/confirm", { body: { key: "elsewhere/x.mp4" } });
    assert.equal(outside.status, 400);
    const missing = await t.call("POST", "/api/media/uploads/confirm", {
      body: { key: "tenants/t1/users/u1/media/1-never-uploaded.mp4" },
    });
    assert.equal(missing.status, 404);
    const noOwner = await t.call("POST", "/api/media/uploads", {
      body: { contentType: "image/png", filename: "a.png" },
    });
    assert.equal(noOwner.status, 400);
  });
});

describe("confirm with bucket notifications on (API_UPLOAD_NOTIFICATIONS)", () => {
  let t: ApiTestStack;
  before(async () => {
    t = await startApiTestStack({ apiEnv: { API_UPLOAD_NOTIFICATIONS: "true" } });
  });
  after(async () => {
    await t.stop();
  });

  test("the confirm and the bucket's notification of one upload give one job", async () => {
    const created = await t.call<Upload>("POST", "/api/media/uploads", {
      body: { contentType: "image/png", filename: "logo.png", tenantId: "t1", userId: "u1", method: "PUT" },
    });
    const png = await transparentPng();
    const put = await fetch(created.body.uploadUrl, { method: "PUT", headers: created.body.headers, body: png });
    assert.equal(put.status, 200);
    const eTag = put.headers.get("etag")!.replace(/"/g, "");
    const early = await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: created.body.key } });
    assert.equal(early.status, 202);
    assert.deepEqual(
      early.body,
      { key: created.body.key, enqueued: false, job: null },
      "the confirm leaves the enqueue to the notification",
    );
    // What S3 sends for the PUT: with the sequencer only S3 knows.
    await t.stack.sendEvent(created.body.key, eTag, newSequencer());
    const item = await waitForItem(t, created.body.key, terminal);
    assert.equal(item.status, "completed");
    const late = await t.call<Confirm>("POST", "/api/media/uploads/confirm", { body: { key: created.body.key } });
    assert.equal(late.status, 200);
    assert.equal(late.body.job!.id, item.jobId, "the confirm names the notification's job");
    const jobs = await t.stack.store.searchByKey({ key: created.body.key, limit: 10 });
    assert.equal(jobs.jobs.length, 1, "one upload, one job");
  });

  test("a multipart upload is created, its parts PUT to their URLs, completed and confirmed", async () => {
    const size = 8 * 1024 * 1024 + 1000;
    const created = await t.call<{
      key: string;
      uploadId: string;
      partBytes: number;
      partCount: number;
      parts: Array<{ partNumber: number; url: string }>;
    }>("POST", "/api/media/uploads/multipart", {
      body: { contentType: "application/octet-stream", filename: "big.bin", tenantId: "t1", userId: "u4", size },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.partCount, 2);
    const body = Buffer.alloc(size, 7);
    const parts = [];
    for (const part of created.body.parts) {
      const chunk = body.subarray(
        (part.partNumber - 1) * created.body.partBytes,
        part.partNumber * created.body.partBytes,
      );
      const put = await fetch(part.url, { method: "PUT", body: chunk });
      assert.equal(put.status, 200);
      parts.push({ partNumber: part.partNumber, eTag: put.headers.get("etag")! });
    }
    const completed = await t.call<Confirm>("POST", "/api/media/uploads/multipart/complete", {
      body: { key: created.body.key, uploadId: created.body.uploadId, parts },
    });
    // With notifications on and no versionId the confirm leaves the enqueue to the notification.
    assert.equal(completed.status, 202, completed.text);
    assert.equal(completed.body.enqueued, false);
    assert.equal((await t.stack.getObject(created.body.key)).length, size);
  });
});
