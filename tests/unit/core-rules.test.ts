import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { fromAwsError, MediaError, toMediaError } from "../../src/errors.ts";
import { detectFromBytes } from "../../src/media/detect-type.ts";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { retryDelaySec } from "../../src/queue/backoff.ts";
import { outputKey, outputLayout } from "../../src/storage/output-keys.ts";
import { displayedSize, fitInside, planVariants } from "../../src/processors/image/image.plan.ts";

const baseEnv = { MEDIA_BUCKET: "media", MEDIA_PROCESSING_QUEUE_URL: "http://localhost:4566/000000000000/q", REDIS_URL: "redis://localhost:6379" };

test("the output layout follows the seed naming, flat and nested (the full rules: output-layout.test.ts)", () => {
  const layout = outputLayout("tenants/t1/users/u1/media/1700000000-abc-photo.jpg", "processed", "0123abcd");
  assert.equal(outputKey(layout, "thumb_small.webp"), "tenants/t1/users/u1/media/processed/1700000000-abc-photo.jpg.0123abcd_thumb_small.webp");
  assert.equal(outputKey(layout, "hls/master.m3u8"), "tenants/t1/users/u1/media/processed/1700000000-abc-photo.jpg.0123abcd/hls/master.m3u8");
  assert.throws(() => outputKey(layout, "../escape.jpg"));
  assert.throws(() => outputKey(layout, "hls/../../x"));
});

test("error classification: AWS errors by code and status, system errors by errno", () => {
  const aws = (name: string, status?: number, fault?: "client" | "server") => Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });
  assert.equal(fromAwsError(aws("NoSuchKey", 404), "s3:getObject").code, "source-not-found");
  assert.equal(fromAwsError(aws("NoSuchKey", 404), "s3:getObject").category, "processing");
  assert.equal(fromAwsError(aws("AccessDenied", 403), "s3:getObject").category, "configuration");
  assert.equal(fromAwsError(aws("SlowDown", 503), "s3:putObject").category, "transient");
  assert.equal(fromAwsError(aws("InternalError", 500, "server"), "s3:putObject").category, "transient");
  assert.equal(fromAwsError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }), "s3").category, "transient");
  assert.equal(toMediaError(Object.assign(new Error("no space"), { code: "ENOSPC" })).category, "resource");
  assert.equal(toMediaError(Object.assign(new Error("no space"), { code: "ENOSPC" })).messageAction, "retry-later");
  const processing = new MediaError("bad", { code: "image-corrupt", category: "processing" });
  assert.equal(processing.messageAction, "fail-and-delete");
  assert.equal(new MediaError("c", { code: "cancelled", category: "cancelled" }).messageAction, "cancel-and-delete");
  assert.equal(new MediaError("t", { code: "processing-timeout", category: "resource" }).messageAction, "fail-and-delete");
  assert.equal(new MediaError("d", { code: "aws-AccessDenied", category: "configuration" }).messageAction, "retry-later");
  assert.deepEqual(processing.toJobError(), { category: "processing", code: "image-corrupt", message: "bad", retryable: false });
});

test("a client-side 4xx from S3 is final: KeyTooLong, InvalidArgument, EntityTooLarge fail at once; the few retryable 4xx are retried", () => {
  const aws = (name: string, status: number) => Object.assign(new Error(name), { name, $fault: "client" as const, $metadata: { httpStatusCode: status } });
  for (const [code, status] of [["KeyTooLongError", 400], ["InvalidArgument", 400], ["EntityTooLarge", 400], ["InvalidRequest", 400], ["MetadataTooLarge", 400], ["SomethingNew", 400], ["InvalidRange", 416]] as const) {
    const error = fromAwsError(aws(code, status), "s3:putObject");
    assert.deepEqual([error.code, error.category, error.retryable, error.messageAction], [`aws-${code}`, "processing", false, "fail-and-delete"], code);
  }
  for (const code of ["RequestTimeout", "IncompleteBody", "BadDigest"]) {
    assert.deepEqual([fromAwsError(aws(code, 400), "s3:putObject").category, fromAwsError(aws(code, 400), "s3:putObject").retryable], ["transient", true], code);
  }
  assert.equal(fromAwsError(aws("OperationAborted", 409), "s3:putObject").category, "transient");
  // Permissions and missing resources stay configuration errors, retried so the DLQ keeps them for a redrive.
  assert.equal(fromAwsError(aws("AccessDenied", 403), "s3:putObject").messageAction, "retry-later");
  assert.equal(fromAwsError(aws("NoSuchBucket", 404), "s3:putObject").category, "configuration");
  assert.equal(fromAwsError(aws("InvalidBucketName", 400), "s3:putObject").category, "configuration");
});

test("an error keeps its code, category and cause when its message is rewritten", () => {
  const cause = new Error("inner");
  const error = new MediaError("at /tmp/x", { code: "image-corrupt", category: "processing", cause });
  const rewritten = error.withMessage("at photo.jpg");
  assert.deepEqual([rewritten.message, rewritten.code, rewritten.category, rewritten.retryable, rewritten.cause], ["at photo.jpg", "image-corrupt", "processing", false, cause]);
  assert.equal(error.withMessage("at /tmp/x"), error);
});

test("retry back-off grows exponentially with jitter and is capped", () => {
  assert.equal(retryDelaySec(1, 30, 900, () => 0), 15);
  assert.equal(retryDelaySec(1, 30, 900, () => 1), 30);
  assert.equal(retryDelaySec(3, 30, 900, () => 1), 120);
  assert.equal(retryDelaySec(10, 30, 900, () => 1), 900);
  assert.equal(retryDelaySec(60, 30, 900, () => 0.5), 675);
});

test("config: defaults, units, and one error listing every problem", () => {
  const config = loadConfig({ ...baseEnv, PROCESSING_TIMEOUT: "2m", SQS_VISIBILITY_TIMEOUT: "120", JOB_STATUS_TTL: "1d" });
  assert.equal(config.jobs.processingTimeoutMs, 120_000);
  assert.equal(config.queue.visibilityTimeoutSec, 120);
  assert.equal(config.queue.heartbeatIntervalSec, 40);
  assert.equal(config.jobs.statusTtlSec, 86_400);
  assert.equal(config.queue.concurrency, 2);
  assert.deepEqual(config.image.thumbnailSizes, { small: 150, medium: 600, large: 1200 });
  assert.equal(config.aws.forcePathStyle, false);
  assert.equal(loadConfig({ ...baseEnv, AWS_ENDPOINT_URL: "http://127.0.0.1:4566" }).aws.forcePathStyle, true);
  try {
    loadConfig({ MEDIA_PROCESSOR_CONCURRENCY: "zero", SQS_BATCH_SIZE: "11", ENABLE_HLS_TRANSCODING: "maybe" });
    assert.fail("should throw");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    const joined = error.problems.join("\n");
    for (const name of ["MEDIA_BUCKET", "MEDIA_PROCESSING_QUEUE_URL", "REDIS_URL", "MEDIA_PROCESSOR_CONCURRENCY", "SQS_BATCH_SIZE", "ENABLE_HLS_TRANSCODING"]) {
      assert.match(joined, new RegExp(name), `${name} listed`);
    }
  }
  assert.throws(() => loadConfig({ ...baseEnv, SQS_VISIBILITY_TIMEOUT: "30", SQS_HEARTBEAT_INTERVAL: "30" }), /SQS_HEARTBEAT_INTERVAL/);
});

test("type detection reads bytes, not names: playlists and office files are recognised", () => {
  assert.equal(detectFromBytes(Buffer.from([0xff, 0xd8, 0xff, 0xe0])).format, "jpeg");
  assert.equal(detectFromBytes(Buffer.from("#EXTM3U\n#EXT-X-VERSION:3\nfile:///etc/passwd\n")).kind, "playlist");
  assert.equal(detectFromBytes(Buffer.from("ffconcat version 1.0\nfile /etc/passwd\n")).kind, "playlist");
  assert.equal(detectFromBytes(Buffer.from("%PDF-1.7\n")).format, "pdf");
  assert.equal(detectFromBytes(Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'></svg>")).format, "svg");
  const ftyp = (brand: string, compatible: string) => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(`ftyp${brand}\0\0\0\0${brand}${compatible}`)]);
  assert.equal(detectFromBytes(ftyp("avif", "mif1")).format, "avif");
  assert.equal(detectFromBytes(ftyp("heic", "mif1")).format, "heif");
  assert.equal(detectFromBytes(ftyp("M4A ", "isom")).kind, "audio");
  assert.equal(detectFromBytes(ftyp("isom", "mp41")).kind, "video");
  assert.equal(detectFromBytes(Buffer.from("RIFF\0\0\0\0WAVEfmt ")).format, "wav");
  assert.equal(detectFromBytes(Buffer.from("just some text")).kind, "unknown");
});

test("job ids are stable per object version and differ across versions", () => {
  const a = jobIdFor({ bucket: "b", key: "k", eTag: '"e1"' });
  assert.equal(a, jobIdFor({ bucket: "b", key: "k", eTag: "e1" }));
  assert.notEqual(a, jobIdFor({ bucket: "b", key: "k", eTag: "e2" }));
  assert.notEqual(a, jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v2" }));
  assert.match(a, /^[0-9a-f]{24}$/);
});

test("job ids: two PUTs of the same bytes to an unversioned key are two jobs; a redelivery of one is the same job", () => {
  const first = jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407460" });
  const second = jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407461" });
  assert.notEqual(first, second);
  assert.equal(first, jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407460" }));
  // "null" is what S3 reports for an unversioned object: no version, so the sequencer still tells PUTs apart.
  assert.equal(jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "01" }), jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "01" }));
  assert.notEqual(jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "01" }), jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "02" }));
  // A real version id names the PUT by itself.
  assert.equal(jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v1", sequencer: "01" }), jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v1", sequencer: "02" }));
});

test("image plan: orientation swaps sizes, fit never enlarges, variants follow the source family", () => {
  assert.deepEqual(displayedSize(400, 300, 6), { width: 300, height: 400 });
  assert.deepEqual(displayedSize(400, 300, 3), { width: 400, height: 300 });
  assert.deepEqual(fitInside(6000, 4000, 1200), { width: 1200, height: 800 });
  assert.deepEqual(fitInside(100, 50, 1200), { width: 100, height: 50 });
  const config = loadConfig(baseEnv).image;
  const names = (format: string, hasAlpha = false, pages = 1) => planVariants({ format, width: 10, height: 10, pages, hasAlpha }, config).map((plan) => plan.name);
  assert.deepEqual(names("jpeg"), ["thumb_small.webp", "thumb_medium.webp", "thumb_large.webp", "optimized.jpg", "webp.webp", "avif.avif"]);
  assert.ok(names("png", true).includes("optimized.png"));
  assert.ok(names("gif", false, 3).includes("optimized.gif"));
  assert.ok(names("heif").includes("optimized.jpg"));
});

test("media tools get a minimal environment without the worker's credentials", async () => {
  const { toolEnvironment } = await import("../../src/media/tool-process.ts");
  const env = toolEnvironment({ PATH: "/usr/bin", HOME: "/tmp", AWS_SECRET_ACCESS_KEY: "secret", API_TOKEN: "t", REDIS_URL: "redis://:pw@h" });
  assert.deepEqual(env, { PATH: "/usr/bin", HOME: "/tmp" });
});

test("type detection of the upload formats added for real uploads: signatures, and lookalikes that are not them", () => {
  const adtsFrame = (length: number) => {
    const frame = Buffer.alloc(length);
    frame.set([0xff, 0xf1, 0x50, 0x80 | ((length >> 11) & 0x03), (length >> 3) & 0xff, ((length & 0x07) << 5) | 0x1f, 0xfc]);
    return frame;
  };
  assert.equal(detectFromBytes(Buffer.concat([adtsFrame(200), adtsFrame(180)])).format, "aac");
  // A sync word whose "next frame" is not one: random bytes, not ADTS.
  assert.equal(detectFromBytes(Buffer.concat([adtsFrame(200).subarray(0, 7), Buffer.alloc(400, 0x11)])).format, "unknown");
  assert.equal(detectFromBytes(Buffer.from("#!AMR\n\x3c", "latin1")).format, "amr");
  assert.equal(detectFromBytes(Buffer.from("#!AMR-WB\n\x44", "latin1")).mime, "audio/amr-wb");
  assert.deepEqual(detectFromBytes(Buffer.from("#!AMR_MC1.0\n", "latin1")).unsupported, "Multi-channel AMR");
  assert.equal(detectFromBytes(Buffer.from("FORM\0\0\0\x20AIFCFVER", "latin1")).format, "aiff");
  assert.equal(detectFromBytes(Buffer.from("FORM\0\0\0\x20ILBMBMHD", "latin1")).format, "unknown");
  assert.equal(detectFromBytes(Buffer.from("BW64\xff\xff\xff\xffWAVEds64", "latin1")).format, "wav");
  assert.equal(detectFromBytes(Buffer.from("wvpk\x20\0\0\0", "latin1")).format, "wavpack");
  assert.equal(detectFromBytes(Buffer.from("MAC \x96\x0f", "latin1")).format, "ape");
  assert.equal(detectFromBytes(Buffer.concat([Buffer.from("DSD ", "latin1"), Buffer.from([28, 0, 0, 0, 0, 0, 0, 0])])).format, "dsf");
  assert.equal(detectFromBytes(Buffer.from("caff\x00\x01\x00\x00desc", "latin1")).format, "caf");
  assert.equal(detectFromBytes(Buffer.from("FLV\x01\x05\0\0\0\x09", "latin1")).format, "flv");
  // QuickTime without ftyp, by its first atom; an implausible atom size is not QuickTime.
  assert.equal(detectFromBytes(Buffer.from("\0\0\0\x08wide\0\0\x10\0mdat", "latin1")).format, "mov");
  assert.equal(detectFromBytes(Buffer.from("\0\0\0\x04free", "latin1")).format, "unknown");
  // MPEG: sequence header (elementary stream), pack header and PES packets (program stream).
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0xb3, 0x14, 0x00, 0xf0])).format, "mpegvideo");
  assert.equal(detectFromBytes(Buffer.from([0, 0, 0, 0, 1, 0xba, 0x44])).format, "mpeg");
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0xe0, 0x07, 0xec])).format, "mpeg");
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0x67, 0x64])).format, "unknown");
});
