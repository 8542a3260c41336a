import assert from "node:assert/strict";
import { test } from "node:test";
import {
  buildS3Notification,
  encodeS3EventKey,
  newSequencer,
  parseMessageBody,
} from "../../src/s3-events/s3-event.parser.ts";
import { compileTenantPattern, decodeS3EventKey, isOutputKey, isUnsafeKey } from "../../src/s3-events/key-rules.ts";

const rules = { sourceBuckets: ["media"], outputSegment: "processed" };
const record = (key: string, eventName = "ObjectCreated:Put", bucket = "media") => ({
  eventSource: "aws:s3",
  eventName,
  eventTime: "2024-01-01T00:00:00.000Z",
  s3: { bucket: { name: bucket }, object: { key, size: 10, eTag: "abc" } },
});

test("a direct S3 notification with several records yields every created object", () => {
  const parsed = parseMessageBody(
    JSON.stringify({ Records: [record("a/1.jpg"), record("a/2.jpg", "ObjectCreated:CompleteMultipartUpload")] }),
    rules,
  );
  assert.equal(parsed.kind, "events");
  assert.deepEqual(parsed.kind === "events" && parsed.refs.map((ref) => [ref.key, ref.origin, ref.eTag]), [
    ["a/1.jpg", "s3", "abc"],
    ["a/2.jpg", "s3", "abc"],
  ]);
});

test("keys are URL-decoded the way S3 encodes them: + is a space, %C3%A9 is é, %2B is a plus", () => {
  assert.equal(decodeS3EventKey("my+photo+%C3%A9t%C3%A9.jpg"), "my photo été.jpg");
  assert.equal(decodeS3EventKey("c%2B%2B+notes.pdf"), "c++ notes.pdf");
  assert.equal(decodeS3EventKey("bad%E0%A4%A.jpg"), "bad%E0%A4%A.jpg");
  const parsed = parseMessageBody(
    JSON.stringify({ Records: [record("tenants/t1/users/u1/media/vacances+d%27%C3%A9t%C3%A9.jpg")] }),
    rules,
  );
  assert.equal(parsed.kind === "events" && parsed.refs[0]?.key, "tenants/t1/users/u1/media/vacances d'été.jpg");
});

test("encoding and decoding round-trip for awkward names", () => {
  for (const key of ["a b/c+d/é ü 中文.png", "x/%41.jpg", "plain.jpg"])
    assert.equal(decodeS3EventKey(encodeS3EventKey(key)), key);
});

test("an SNS-wrapped S3 notification is unwrapped and marked as coming through SNS", () => {
  const body = JSON.stringify({
    Type: "Notification",
    MessageId: "m",
    TopicArn: "arn:aws:sns:us-east-1:1:t",
    Message: buildS3Notification([{ bucket: "media", key: "x/y z.png" }]),
  });
  const parsed = parseMessageBody(body, rules);
  assert.equal(parsed.kind, "events");
  assert.deepEqual(parsed.kind === "events" && parsed.refs.map((ref) => [ref.key, ref.origin]), [["x/y z.png", "sns"]]);
});

test("an EventBridge Object Created event is accepted with its key as is", () => {
  const body = JSON.stringify({
    version: "0",
    source: "aws.s3",
    "detail-type": "Object Created",
    time: "2024-01-01T00:00:00Z",
    detail: {
      bucket: { name: "media" },
      object: { key: "x/a+b.jpg", size: 5, etag: "e1", "version-id": "v1" },
      reason: "PutObject",
    },
  });
  const parsed = parseMessageBody(body, rules);
  assert.equal(parsed.kind, "events");
  const ref = parsed.kind === "events" ? parsed.refs[0] : undefined;
  assert.deepEqual([ref?.key, ref?.versionId, ref?.origin], ["x/a+b.jpg", "v1", "eventbridge"]);
});

test('EventBridge: version-id "null" is no version, and the ETag is read whatever its casing', () => {
  const event = (object: Record<string, unknown>) =>
    JSON.stringify({
      version: "0",
      source: "aws.s3",
      "detail-type": "Object Created",
      detail: {
        bucket: { name: "media" },
        object: { key: "x/a.jpg", size: 5, sequencer: "0A", ...object },
        reason: "PutObject",
      },
    });
  const refOf = (body: string) => {
    const parsed = parseMessageBody(body, rules);
    return parsed.kind === "events" ? parsed.refs[0] : undefined;
  };
  assert.deepEqual(
    [
      refOf(event({ etag: "e1", "version-id": "null" }))?.versionId,
      refOf(event({ etag: "e1", "version-id": "null" }))?.eTag,
    ],
    [undefined, "e1"],
  );
  assert.equal(refOf(event({ eTag: "e2" }))?.eTag, "e2");
  assert.equal(refOf(event({ ETag: "e3" }))?.eTag, "e3");
  assert.equal(refOf(event({ etag: "e4", versionId: "v4" }))?.versionId, "v4");
  assert.equal(refOf(event({ etag: "e5" }))?.sequencer, "0A");
});

test('S3 notifications: versionId "null" is no version; the sequencer is kept', () => {
  const body = JSON.stringify({
    Records: [
      {
        ...record("a/1.jpg"),
        s3: {
          bucket: { name: "media" },
          object: { key: "a/1.jpg", eTag: "abc", versionId: "null", sequencer: "0062E99A88DC407460" },
        },
      },
    ],
  });
  const parsed = parseMessageBody(body, rules);
  assert.deepEqual(parsed.kind === "events" && [parsed.refs[0]?.versionId, parsed.refs[0]?.sequencer], [
    undefined,
    "0062E99A88DC407460",
  ]);
});

test("buildS3Notification carries a sequencer only when given; new sequencers grow", () => {
  const object = (body: string) =>
    (JSON.parse(body) as { Records: Array<{ s3: { object: Record<string, unknown> } }> }).Records[0]!.s3.object;
  assert.equal(object(buildS3Notification([{ bucket: "b", key: "k" }])).sequencer, undefined);
  const [a, b] = [newSequencer(), newSequencer()];
  assert.equal(object(buildS3Notification([{ bucket: "b", key: "k", sequencer: a }])).sequencer, a);
  assert.ok(a.length === b.length && a < b, `${a} < ${b}`);
});

test("test events, removals, output keys, '..' keys and foreign buckets are dropped with a reason", () => {
  assert.deepEqual(
    parseMessageBody(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "media" }), rules),
    { kind: "events", refs: [], dropped: [{ reason: "test-event" }] },
  );
  const parsed = parseMessageBody(
    JSON.stringify({
      Records: [
        record("a/gone.jpg", "ObjectRemoved:Delete"),
        record("a/processed/x.jpg.0123abcd_thumb_small.webp"),
        record("a/../../etc/passwd"),
        record("a/ok.jpg", "ObjectCreated:Put", "other-bucket"),
        record("folder/"),
      ],
    }),
    rules,
  );
  assert.equal(parsed.kind, "events");
  assert.deepEqual(parsed.kind === "events" && parsed.dropped.map((drop) => drop.reason), [
    "not-object-created",
    "output-key",
    "unsafe-key",
    "foreign-bucket",
    "empty-key",
  ]);
  assert.equal(parsed.kind === "events" && parsed.refs.length, 0);
});

test("bodies that are not JSON, not events, or too large are invalid, never thrown", () => {
  assert.equal(parseMessageBody("hello", rules).kind, "invalid");
  assert.deepEqual(parseMessageBody("{}", rules), {
    kind: "invalid",
    reason: "unknown-shape",
    detail: "not an S3, SNS-wrapped S3 or EventBridge S3 event",
  });
  assert.equal(parseMessageBody(JSON.stringify({ Records: [{ nope: 1 }] }), rules).kind, "invalid");
  assert.equal(parseMessageBody(JSON.stringify({ Type: "Notification", Message: "not json" }), rules).kind, "invalid");
  const huge = parseMessageBody("x".repeat(2 * 1024 * 1024), rules);
  assert.equal(huge.kind === "invalid" && huge.reason, "too-large");
  assert.equal(parseMessageBody("", rules).kind, "invalid");
  assert.equal(parseMessageBody("null", rules).kind, "invalid");
  assert.equal(parseMessageBody("[1,2]", rules).kind, "invalid");
});

test("key rules: unsafe segments, output segment anywhere in the path, tenant pattern", () => {
  assert.equal(isUnsafeKey("a/../b"), true);
  assert.equal(isUnsafeKey("a/./b"), true);
  assert.equal(isUnsafeKey("a/b\u0000.jpg"), true);
  assert.equal(isUnsafeKey("a/b..c.jpg"), false);
  assert.equal(isOutputKey("t/processed/x.jpg.0123abcd_thumb.webp", "processed"), true);
  assert.equal(isOutputKey("t/processed/x.webp", "processed"), false, "a user's upload in a folder named processed");
  assert.equal(isOutputKey("processed.jpg", "processed"), false);
  assert.equal(isOutputKey("t/processed-old/x.jpg", "processed"), false);
  const owner = compileTenantPattern("tenants/{tenant}/users/{user}/media/");
  assert.deepEqual(owner("tenants/acme/users/42/media/a.jpg"), { tenantId: "acme", userId: "42" });
  assert.deepEqual(owner("other/a.jpg"), { tenantId: undefined, userId: undefined });
  assert.deepEqual(compileTenantPattern("org-{tenant}/")("org-x.y/a.jpg"), { tenantId: "x.y", userId: undefined });
});
