import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startEmulator } from "../../src/dev/emulator.ts";
import { bareETag } from "../../src/s3-events/object-ref.ts";
import { parseMessageBody } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, jobIdOfRef, jobSourceOf } from "../../src/jobs/job.model.ts";
import { createLogger } from "../../src/logger.ts";
import { ObjectStore } from "../../src/storage/object-store.ts";

// Job identity has one derivation (jobSourceOf → jobIdFor, both in job.model.ts), and an ETag is
// made bare once, where it enters: when an event is parsed into a ref, and when the object store
// reads an S3 answer.

const rules = { sourceBuckets: ["media"], outputSegment: "processed" };
const s3Body = (eTag: string) =>
  JSON.stringify({
    Records: [
      {
        eventSource: "aws:s3",
        eventName: "ObjectCreated:Put",
        s3: { bucket: { name: "media" }, object: { key: "a/1.jpg", size: 3, eTag, sequencer: "01" } },
      },
    ],
  });
const snsBody = (eTag: string) =>
  JSON.stringify({
    Type: "Notification",
    MessageId: "m",
    TopicArn: "arn:aws:sns:us-east-1:000000000000:t",
    Message: s3Body(eTag),
  });
const eventBridgeBody = (eTag: string) =>
  JSON.stringify({
    version: "0",
    "detail-type": "Object Created",
    source: "aws.s3",
    time: "2024-01-01T00:00:00Z",
    detail: {
      bucket: { name: "media" },
      object: { key: "a/1.jpg", size: 3, etag: eTag, sequencer: "01" },
      reason: "PutObject",
    },
  });
const refOf = (body: string) => {
  const parsed = parseMessageBody(body, rules);
  assert.ok(parsed.kind === "events" && parsed.refs.length === 1, JSON.stringify(parsed));
  return parsed.refs[0]!;
};

test("identity: a quoted ETag is bare once the event is parsed, in every envelope", () => {
  for (const body of [s3Body('"abc"'), snsBody('"abc"'), eventBridgeBody('"abc"')])
    assert.equal(refOf(body).eTag, "abc");
});

test("identity: the quoted and the bare form of one upload's event name the same job", () => {
  for (const wrap of [s3Body, snsBody, eventBridgeBody])
    assert.equal(jobIdOfRef(refOf(wrap('"abc"'))), jobIdOfRef(refOf(wrap("abc"))));
});

test("identity: the job source of a parsed ref stores the bare ETag", () => {
  assert.deepEqual(jobSourceOf(refOf(s3Body('"abc"'))), {
    bucket: "media",
    key: "a/1.jpg",
    size: 3,
    eTag: "abc",
    sequencer: "01",
  });
});

test("identity: jobIdOfRef is jobIdFor of jobSourceOf (the one derivation the worker, intake, API and DLQ view share)", () => {
  const ref = refOf(eventBridgeBody("abc"));
  assert.equal(jobIdOfRef(ref), jobIdFor({ bucket: "media", key: "a/1.jpg", eTag: "abc", sequencer: "01" }));
  assert.notEqual(jobIdOfRef(ref), jobIdFor({ bucket: "media", key: "a/1.jpg", eTag: "abd", sequencer: "01" }));
});

test("identity: bareETag drops S3's quotes and keeps an absent ETag absent", () => {
  assert.deepEqual(
    [bareETag('"9b2c"'), bareETag("9b2c"), bareETag(undefined), bareETag(null), bareETag("")],
    ["9b2c", "9b2c", undefined, undefined, ""],
  );
});

test("identity: the object store answers bare ETags from S3's quoted ones (head and download)", async () => {
  const emulator = await startEmulator({
    port: 0,
    buckets: ["media"],
    maxReceiveCount: 2,
    notificationPollMs: 60_000,
    logger: createLogger("silent"),
  });
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: emulator.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), "identity-"));
  try {
    const put = await s3.send(new PutObjectCommand({ Bucket: "media", Key: "a/1.jpg", Body: Buffer.from("abc") }));
    assert.match(put.ETag ?? "", /^".+"$/, "S3 quotes the ETag it answers");
    const objects = new ObjectStore(s3);
    const bare = put.ETag!.slice(1, -1);
    assert.equal((await objects.head("media", "a/1.jpg")).eTag, bare);
    assert.equal(
      (await objects.download("media", "a/1.jpg", path.join(dir, "input"), 1_000, AbortSignal.timeout(30_000))).eTag,
      bare,
    );
  } finally {
    s3.destroy();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
