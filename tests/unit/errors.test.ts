import assert from "node:assert/strict";
import { test } from "node:test";
import { fromAwsError, MediaError, toMediaError } from "../../src/errors.ts";
import { firstReceiveFate } from "../helpers/fate.ts";

/** Error classification (src/errors.ts): which category a foreign error is, and what that does on a first receive. */

const aws = (name: string, status?: number, fault?: "client" | "server") =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });
const clientAws = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $fault: "client" as const, $metadata: { httpStatusCode: status } });

test("an S3 NoSuchKey is a processing error: the source is not found", () => {
  assert.equal(fromAwsError(aws("NoSuchKey", 404), "s3:getObject").code, "source-not-found");
  assert.equal(fromAwsError(aws("NoSuchKey", 404), "s3:getObject").category, "processing");
});

test("an S3 AccessDenied is a configuration error", () => {
  assert.equal(fromAwsError(aws("AccessDenied", 403), "s3:getObject").category, "configuration");
});

test("S3 throttling and server faults are transient", () => {
  assert.equal(fromAwsError(aws("SlowDown", 503), "s3:putObject").category, "transient");
  assert.equal(fromAwsError(aws("InternalError", 500, "server"), "s3:putObject").category, "transient");
});

test("a refused connection is transient (system errors are classified by errno)", () => {
  assert.equal(fromAwsError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "s3").category, "transient");
});

test("a full disk (ENOSPC) is a resource error, retried on a first receive", () => {
  assert.equal(toMediaError(Object.assign(new Error("no space"), { code: "ENOSPC" })).category, "resource");
  assert.equal(
    firstReceiveFate(toMediaError(Object.assign(new Error("no space"), { code: "ENOSPC" }))),
    "retry-scheduled → retry",
  );
});

test("a processing error fails the job and deletes the message", () => {
  assert.equal(
    firstReceiveFate(new MediaError("bad", { code: "image-corrupt", category: "processing" })),
    "failed → delete",
  );
});

test("a cancellation cancels the job and deletes the message", () => {
  assert.equal(
    firstReceiveFate(new MediaError("c", { code: "cancelled", category: "cancelled" })),
    "cancelled → delete",
  );
});

test("a processing timeout fails the job and deletes the message", () => {
  assert.equal(
    firstReceiveFate(new MediaError("t", { code: "processing-timeout", category: "resource" })),
    "failed → delete",
  );
});

test("a configuration error is retried, so the DLQ keeps the message for a redrive", () => {
  assert.equal(
    firstReceiveFate(new MediaError("d", { code: "aws-AccessDenied", category: "configuration" })),
    "retry-scheduled → retry",
  );
});

test("an error's job record carries its category, code, message and retryability", () => {
  assert.deepEqual(new MediaError("bad", { code: "image-corrupt", category: "processing" }).toJobError(), {
    category: "processing",
    code: "image-corrupt",
    message: "bad",
    retryable: false,
  });
});

test("a client-side 4xx from S3 is final: KeyTooLong, InvalidArgument, EntityTooLarge and unknown 4xx fail at once", () => {
  for (const [code, status] of [
    ["KeyTooLongError", 400],
    ["InvalidArgument", 400],
    ["EntityTooLarge", 400],
    ["InvalidRequest", 400],
    ["MetadataTooLarge", 400],
    ["SomethingNew", 400],
    ["InvalidRange", 416],
  ] as const) {
    const error = fromAwsError(clientAws(code, status), "s3:putObject");
    assert.deepEqual(
      [error.code, error.category, error.retryable, firstReceiveFate(error)],
      [`aws-${code}`, "processing", false, "failed → delete"],
      code,
    );
  }
});

test("the few retryable 4xx from S3 are transient and retried", () => {
  for (const code of ["RequestTimeout", "IncompleteBody", "BadDigest"]) {
    assert.deepEqual(
      [
        fromAwsError(clientAws(code, 400), "s3:putObject").category,
        fromAwsError(clientAws(code, 400), "s3:putObject").retryable,
      ],
      ["transient", true],
      code,
    );
  }
  assert.equal(fromAwsError(clientAws("OperationAborted", 409), "s3:putObject").category, "transient");
});

test("a permission or missing-resource 4xx from S3 stays a configuration error, retried so the DLQ keeps it for a redrive", () => {
  assert.equal(
    firstReceiveFate(fromAwsError(clientAws("AccessDenied", 403), "s3:putObject")),
    "retry-scheduled → retry",
  );
  assert.equal(fromAwsError(clientAws("NoSuchBucket", 404), "s3:putObject").category, "configuration");
  assert.equal(fromAwsError(clientAws("InvalidBucketName", 400), "s3:putObject").category, "configuration");
});

test("an error keeps its code, category and cause when its message is rewritten", () => {
  const cause = new Error("inner");
  const error = new MediaError("at /tmp/x", { code: "image-corrupt", category: "processing", cause });
  const rewritten = error.withMessage("at photo.jpg");
  assert.deepEqual(
    [rewritten.message, rewritten.code, rewritten.category, rewritten.retryable, rewritten.cause],
    ["at photo.jpg", "image-corrupt", "processing", false, cause],
  );
});

test("rewriting an error to the message it already has returns the same error", () => {
  const error = new MediaError("at /tmp/x", {
    code: "image-corrupt",
    category: "processing",
    cause: new Error("inner"),
  });
  assert.equal(error.withMessage("at /tmp/x"), error);
});
