import assert from "node:assert/strict";
import { test } from "node:test";
import { S3Client } from "@aws-sdk/client-s3";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { playbackOf } from "../../src/api/media/playback.ts";
import { cdnUrlOf } from "../../src/storage/output-keys.ts";
import { buildUploadKey, ownerProblem, safeFilename } from "../../src/api/media/upload-keys.ts";
import { confirmEnqueues, partPlan } from "../../src/api/media/uploads.ts";
import { ownerPrefix } from "../../src/api/routes/media.routes.ts";

const PATTERN = "tenants/{tenant}/users/{user}/media/";

test("a client's file name becomes a safe last key segment", () => {
  assert.equal(safeFilename("../../etc/passwd"), "passwd");
  assert.equal(safeFilename("C:\\Users\\me\\My Holiday (1).mp4"), "My-Holiday-1.mp4");
  assert.equal(safeFilename("..."), "file");
  assert.equal(safeFilename(".hidden"), "hidden");
  assert.equal(safeFilename("Café über.jpg"), "Cafe-uber.jpg");
  assert.equal(safeFilename("a..b.mp4"), "a.b.mp4");
  assert.ok(Buffer.byteLength(safeFilename(`${"x".repeat(500)}.mp4`)) <= 100);
});

test("upload keys are built under the tenant layout with a timestamp and a random part", () => {
  assert.equal(
    buildUploadKey(PATTERN, { tenantId: "t1", userId: "u1" }, "photo.jpg", 1_700_000_000_500, "abcdef012345"),
    "tenants/t1/users/u1/media/1700000000-abcdef012345-photo.jpg",
  );
  const a = buildUploadKey(PATTERN, { tenantId: "t1", userId: "u1" }, "photo.jpg", 0);
  const b = buildUploadKey(PATTERN, { tenantId: "t1", userId: "u1" }, "photo.jpg", 0);
  assert.notEqual(a, b, "two uploads of one name never share a key");
});

test("an owner must fill the pattern's placeholders with safe ids", () => {
  assert.equal(ownerProblem(PATTERN, { tenantId: "t1", userId: "u1" }), undefined);
  assert.match(ownerProblem(PATTERN, { tenantId: "t1", userId: undefined })!, /userId is required/);
  assert.match(ownerProblem(PATTERN, { tenantId: "..", userId: "u1" })!, /tenantId must match/);
  assert.match(ownerProblem(PATTERN, { tenantId: "a/b", userId: "u1" })!, /tenantId must match/);
  assert.equal(ownerProblem("uploads/", { tenantId: undefined, userId: undefined }), undefined);
});

test("the confirm enqueues unless the bucket notifies and the object has no version id", () => {
  assert.equal(confirmEnqueues(false, undefined), true);
  assert.equal(confirmEnqueues(false, "v1"), true);
  assert.equal(confirmEnqueues(true, "v1"), true, "a version id gives both the same job id");
  assert.equal(confirmEnqueues(true, undefined), false);
});

test("multipart parts are at least 8 MiB and never more than 10,000", () => {
  assert.deepEqual(partPlan(1), { partBytes: 8 * 1024 * 1024, partCount: 1 });
  assert.deepEqual(partPlan(8 * 1024 * 1024 + 1), { partBytes: 8 * 1024 * 1024, partCount: 2 });
  const huge = partPlan(200 * 1024 ** 3);
  assert.ok(huge.partCount <= 10_000 && huge.partBytes * huge.partCount >= 200 * 1024 ** 3);
});

test("an item listing's prefix stops at the first open placeholder", () => {
  assert.equal(ownerPrefix(PATTERN, "t1", "u1"), "tenants/t1/users/u1/media/");
  assert.equal(ownerPrefix(PATTERN, "t1", undefined), "tenants/t1/users/");
  assert.equal(ownerPrefix(PATTERN, undefined, undefined), "tenants/");
});

test("CDN paths keep slashes and encode each segment", () => {
  assert.equal(
    cdnUrlOf("https://cdn.example.com", "tenants/t 1/a#b.jpg"),
    "https://cdn.example.com/tenants/t%201/a%23b.jpg",
  );
});

const presigner = new S3Client({
  region: "us-east-1",
  endpoint: "http://s3.local:4566",
  forcePathStyle: true,
  credentials: { accessKeyId: "a", secretAccessKey: "b" },
});
const job = (overrides: Partial<JobRecord>): JobRecord => ({
  id: "0123456789abcdef01234567",
  type: "video",
  status: "completed",
  source: { bucket: "uploads", key: "tenants/t1/users/u1/media/1-abc-clip.mp4" },
  attempts: 1,
  progress: 100,
  timeline: [],
  createdAt: new Date(0).toISOString(),
  ...overrides,
});
const ladder = {
  manifestKey: "tenants/t1/users/u1/media/processed/1-abc-clip.mp4_manifest.json",
  outputs: [
    {
      key: "tenants/t1/users/u1/media/processed/1-abc-clip.mp4.1a2b3c4d/hls/master.m3u8",
      variant: "hls_master",
      contentType: "application/vnd.apple.mpegurl",
    },
    {
      key: "tenants/t1/users/u1/media/processed/1-abc-clip.mp4.1a2b3c4d_poster.jpg",
      variant: "poster",
      contentType: "image/jpeg",
      width: 1280,
      height: 720,
    },
    {
      key: "tenants/t1/users/u1/media/processed/1-abc-clip.mp4.1a2b3c4d_web.mp4",
      variant: "web_mp4",
      contentType: "video/mp4",
    },
  ],
  metadata: { durationSec: 12.5, video: { displayWidth: 1280, displayHeight: 720 } },
};
const streamUrl = (file: string) => `/stream/${file}`;

test("a video still processing plays its original; once completed it plays HLS through the stream route", async () => {
  const context = {
    signer: { presigner, cdnBaseUrl: undefined, expiresInSec: 60 },
    outputBucket: undefined,
    streamUrl,
  };
  const processing = await playbackOf(job({ status: "processing", type: "pending", progress: 40 }), context);
  assert.equal(processing.playback.type, "original");
  assert.match(
    processing.playback.url!,
    /^http:\/\/s3\.local:4566\/uploads\/tenants\/t1\/users\/u1\/media\/1-abc-clip\.mp4\?.*X-Amz-Signature=/,
  );
  assert.equal(processing.hls, null);
  const ready = await playbackOf(job({ result: ladder }), context);
  assert.deepEqual(ready.playback, { type: "hls", url: "/stream/master.m3u8" });
  assert.equal(ready.original, null);
  assert.equal(ready.durationSec, 12.5);
  assert.equal(ready.aspectRatio, 1.7778);
  assert.match(ready.mp4!, /_web\.mp4\?/);
});

test("with CDN_BASE_URL every playback URL is the CDN's, HLS included", async () => {
  const ready = await playbackOf(job({ result: ladder }), {
    signer: { presigner, cdnBaseUrl: "https://cdn.example.com", expiresInSec: 60 },
    outputBucket: undefined,
    streamUrl,
  });
  assert.equal(
    ready.hls,
    "https://cdn.example.com/tenants/t1/users/u1/media/processed/1-abc-clip.mp4.1a2b3c4d/hls/master.m3u8",
  );
  assert.equal(
    ready.poster,
    "https://cdn.example.com/tenants/t1/users/u1/media/processed/1-abc-clip.mp4.1a2b3c4d_poster.jpg",
  );
});
