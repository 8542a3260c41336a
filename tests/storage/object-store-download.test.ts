import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { S3Client } from "@aws-sdk/client-s3";
import type { RunningEmulator } from "../../src/dev/emulator.ts";
import type { MediaError } from "../../src/errors.ts";
import { ObjectStore } from "../../src/storage/object-store.ts";
import { parseContentRange, rangedDownload } from "../../src/storage/ranged-download.ts";
import { startTestEmulator, TEST_BUCKET as BUCKET, testS3Client } from "../helpers/emulator.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";

/**
 * ObjectStore.download against the bundled emulator: a large object comes down in parallel
 * ranged GETs and lands byte for byte; an object replaced between two of its parts fails as
 * `source-changed` instead of splicing versions; a store that ignores Range, an empty object and
 * a declared size over the cap take their own paths; a part cut short (cleanly or by a dropped
 * connection, through the fault proxy) is a retryable error, never a file with a hole.
 */
const MiB = 1024 * 1024;

let emulator: RunningEmulator;
let proxy: FaultProxy;
let dir: string;

before(async () => {
  emulator = await startTestEmulator();
  proxy = await startFaultProxy(emulator.endpoint);
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-object-download-"));
});

after(async () => {
  await proxy.close();
  await emulator.stop();
  await rm(dir, { recursive: true, force: true });
});

const client = () => testS3Client(emulator.endpoint);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** `size` non-repeating bytes (every 32-byte block differs), so a part written at the wrong offset shows. */
function distinctBytes(size: number, seed: string): Buffer {
  const bytes = Buffer.alloc(size);
  for (let offset = 0; offset < size; offset += 32)
    createHash("sha256").update(`${seed}:${offset}`).digest().copy(bytes, offset);
  return bytes;
}

/** Multipart above 8 MiB: the emulator caps one request's body at 11 MiB. */
async function put(s3: S3Client, key: string, body: Buffer): Promise<void> {
  await new ObjectStore(s3).upload({
    bucket: BUCKET,
    key,
    body: { buffer: body },
    contentType: "application/octet-stream",
  });
}

/** Records the Range header of every GetObject the client sends. */
function recordRanges(s3: S3Client): string[] {
  const ranges: string[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "GetObjectCommand") {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        ranges.push(headers.range ?? headers.Range ?? "none");
      }
      return next(args);
    },
    { step: "finalizeRequest", name: "recordRanges" },
  );
  return ranges;
}

describe("ObjectStore.download", () => {
  test("a 40 MiB object comes down in ranged parts and lands byte for byte", async () => {
    const s3 = client();
    const body = distinctBytes(40 * MiB + 12_345, "large");
    await put(s3, "in/large.mp4", body);
    const ranges = recordRanges(s3);
    const destination = path.join(dir, "large");
    const result = await new ObjectStore(s3).download(
      BUCKET,
      "in/large.mp4",
      destination,
      1024 * MiB,
      AbortSignal.timeout(60_000),
    );
    assert.equal(result.bytes, body.length);
    assert.equal(sha256(await readFile(destination)), sha256(body));
    assert.ok(result.eTag && !result.eTag.includes('"'), `bare ETag, got ${result.eTag}`);
    // 16 MiB parts: 0–16, 16–32, 32–40 MiB.
    assert.deepEqual(ranges.sort(), [
      `bytes=0-${16 * MiB - 1}`,
      `bytes=${16 * MiB}-${32 * MiB - 1}`,
      `bytes=${32 * MiB}-${48 * MiB - 1}`,
    ]);
    s3.destroy();
  });

  test("small parts, several at once, in any order of arrival: the file is whole", async () => {
    const s3 = client();
    const body = distinctBytes(5 * MiB + 7, "small-parts");
    await put(s3, "in/parts.bin", body);
    const destination = path.join(dir, "parts");
    let received = 0;
    await rangedDownload(s3, {
      bucket: BUCKET,
      key: "in/parts.bin",
      destination,
      signal: AbortSignal.timeout(60_000),
      checkSize: () => undefined,
      onBytes: (bytes) => {
        received += bytes;
      },
      partBytes: 300 * 1024,
      parallel: 5,
    });
    assert.equal(received, body.length);
    assert.equal(sha256(await readFile(destination)), sha256(body));
    s3.destroy();
  });

  test("an object replaced between two of its parts fails as source-changed, never a spliced file", async () => {
    const s3 = client();
    await put(s3, "in/replaced.bin", distinctBytes(3 * MiB, "old"));
    let replaced = false;
    // The first later part's request waits for a new upload under the same key.
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        if (context.commandName === "GetObjectCommand" && !replaced && !headers.range?.startsWith("bytes=0-")) {
          replaced = true;
          const writer = client();
          await put(writer, "in/replaced.bin", distinctBytes(3 * MiB, "new"));
          writer.destroy();
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "replaceMidDownload" },
    );
    const store = new ObjectStore(s3);
    await assert.rejects(
      rangedDownload(s3, {
        bucket: BUCKET,
        key: "in/replaced.bin",
        destination: path.join(dir, "replaced"),
        signal: AbortSignal.timeout(60_000),
        checkSize: () => undefined,
        onBytes: () => undefined,
        partBytes: MiB,
        parallel: 1,
      }),
      (error: { name?: string }) => error.name === "PreconditionFailed",
    );
    // Through ObjectStore (16 MiB parts) a 20 MiB object is replaced between its two parts: a categorised, non-retryable error.
    replaced = false;
    await put(s3, "in/replaced.bin", distinctBytes(20 * MiB, "large-old"));
    await assert.rejects(
      store.download(BUCKET, "in/replaced.bin", path.join(dir, "replaced-2"), 1024 * MiB, AbortSignal.timeout(60_000)),
      (error: MediaError) => error.code === "source-changed" && error.retryable === false,
    );
    s3.destroy();
  });

  test("a store that ignores Range sends the whole object in its first answer: that is the download", async () => {
    const s3 = client();
    const body = distinctBytes(20 * MiB, "no-range");
    await put(s3, "in/no-range.bin", body);
    s3.middlewareStack.add(
      (next) => async (args) => {
        const headers = (args.request as { headers: Record<string, string> }).headers;
        delete headers.range;
        return next(args);
      },
      { step: "finalizeRequest", name: "dropRange" },
    );
    const ranges = recordRanges(s3);
    const destination = path.join(dir, "no-range");
    const result = await new ObjectStore(s3).download(
      BUCKET,
      "in/no-range.bin",
      destination,
      1024 * MiB,
      AbortSignal.timeout(60_000),
    );
    assert.equal(result.bytes, body.length);
    assert.equal(sha256(await readFile(destination)), sha256(body));
    assert.equal(ranges.length, 1, "one request");
    s3.destroy();
  });

  test("an empty object (no satisfiable range) downloads as an empty file", async () => {
    const s3 = client();
    await put(s3, "in/empty.bin", Buffer.alloc(0));
    const destination = path.join(dir, "empty");
    const result = await new ObjectStore(s3).download(
      BUCKET,
      "in/empty.bin",
      destination,
      MiB,
      AbortSignal.timeout(30_000),
    );
    assert.equal(result.bytes, 0);
    assert.equal((await readFile(destination)).length, 0);
    s3.destroy();
  });

  test("an object over the cap is refused from its declared size, before a second part is asked for", async () => {
    const s3 = client();
    await put(s3, "in/big.bin", distinctBytes(20 * MiB, "big"));
    const ranges = recordRanges(s3);
    await assert.rejects(
      new ObjectStore(s3).download(BUCKET, "in/big.bin", path.join(dir, "big"), 10 * MiB, AbortSignal.timeout(30_000)),
      (error: MediaError) => error.code === "input-too-large",
    );
    assert.equal(ranges.length, 1);
    s3.destroy();
  });

  test("a part whose body ends early without an error fails as a retryable download-incomplete", async () => {
    const writer = client();
    await put(writer, "in/cut-clean.bin", distinctBytes(20 * MiB, "cut-clean"));
    writer.destroy();
    // The second part's answer loses its Content-Length and stops 1 MiB in, as a truncating proxy would.
    proxy.setRule(({ method, path, range }) =>
      method === "GET" && path.includes("cut-clean") && range && !range.startsWith("bytes=0-")
        ? { cutBody: "clean", afterBytes: MiB }
        : "pass",
    );
    const s3 = testS3Client(proxy.endpoint);
    try {
      await assert.rejects(
        new ObjectStore(s3).download(
          BUCKET,
          "in/cut-clean.bin",
          path.join(dir, "cut-clean"),
          1024 * MiB,
          AbortSignal.timeout(30_000),
        ),
        (error: MediaError) =>
          error.code === "download-incomplete" &&
          error.retryable &&
          error.message.includes(`received ${17 * MiB} of ${20 * MiB} bytes`),
      );
    } finally {
      proxy.setRule(() => "pass");
      s3.destroy();
    }
  });

  test("a connection dropped mid-body fails as a retryable network error", async () => {
    const writer = client();
    await put(writer, "in/cut-reset.bin", distinctBytes(20 * MiB, "cut-reset"));
    writer.destroy();
    proxy.setRule(({ method, path, range }) =>
      method === "GET" && path.includes("cut-reset") && range && !range.startsWith("bytes=0-")
        ? { cutBody: "reset", afterBytes: MiB }
        : "pass",
    );
    const s3 = testS3Client(proxy.endpoint);
    try {
      await assert.rejects(
        new ObjectStore(s3).download(
          BUCKET,
          "in/cut-reset.bin",
          path.join(dir, "cut-reset"),
          1024 * MiB,
          AbortSignal.timeout(30_000),
        ),
        (error: MediaError) => error.category === "transient" && error.retryable && error.code !== "aborted",
      );
    } finally {
      proxy.setRule(() => "pass");
      s3.destroy();
    }
  });

  test("Content-Range is read strictly", () => {
    assert.deepEqual(parseContentRange("bytes 0-99/1000"), { start: 0, end: 99, total: 1000 });
    assert.equal(parseContentRange(undefined), undefined);
    assert.equal(parseContentRange("bytes */1000"), undefined);
    assert.equal(parseContentRange("bytes 0-99/*"), undefined);
  });
});
