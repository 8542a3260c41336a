import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { RunningEmulator } from "../../src/dev/emulator.ts";
import { ObjectStore } from "../../src/storage/object-store.ts";
import { startTestEmulator, TEST_BUCKET as BUCKET, testS3Client } from "../helpers/emulator.ts";
import { startFaultProxy } from "../helpers/fault-proxy.ts";

/**
 * ObjectStore.upload against the bundled emulator, whose request bodies are capped at 11 MiB
 * (as many S3-compatible stores and proxies cap single requests): outputs above the multipart
 * threshold go up in parts whether the processor handed over a file or a buffer.
 */

let emulator: RunningEmulator;
let s3: S3Client;
let dir: string;

before(async () => {
  emulator = await startTestEmulator();
  s3 = testS3Client(emulator.endpoint);
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-object-store-"));
});

after(async () => {
  s3.destroy();
  await emulator.stop();
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function stored(key: string): Promise<Uint8Array> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return object.Body!.transformToByteArray();
}

describe("ObjectStore.upload", () => {
  // 20 MiB of non-repeating bytes: past the emulator's 11 MiB body cap and the 8 MiB part size.
  const large = Buffer.alloc(20 * 1024 * 1024);
  for (let offset = 0; offset < large.length; offset += 32)
    createHash("sha256").update(String(offset)).digest().copy(large, offset);

  test("a buffer larger than one request may carry is stored whole (in parts)", async () => {
    const store = new ObjectStore(s3);
    const bytes = await store.upload({
      bucket: BUCKET,
      key: "out/large-buffer.png",
      body: { buffer: large },
      contentType: "image/png",
    });
    assert.equal(bytes, large.length);
    assert.equal(sha256(await stored("out/large-buffer.png")), sha256(large));
  });

  test("a file larger than one request may carry is stored whole (in parts)", async () => {
    const file = path.join(dir, "large.bin");
    await writeFile(file, large);
    const store = new ObjectStore(s3);
    const bytes = await store.upload({
      bucket: BUCKET,
      key: "out/large-file.bin",
      body: { file },
      contentType: "application/octet-stream",
    });
    assert.equal(bytes, large.length);
    assert.equal(sha256(await stored("out/large-file.bin")), sha256(large));
  });

  test("small buffers and strings are one PUT with their exact bytes", async () => {
    const store = new ObjectStore(s3);
    assert.equal(
      await store.upload({
        bucket: BUCKET,
        key: "out/manifest.json",
        body: { buffer: '{"ü":1}' },
        contentType: "application/json",
      }),
      Buffer.byteLength('{"ü":1}'),
    );
    assert.equal(Buffer.from(await stored("out/manifest.json")).toString("utf8"), '{"ü":1}');
  });

  test("a file PUT answered 500 is retried by the SDK itself with the whole body, and stored whole", async () => {
    // A request body read from a file stream is consumed by the first attempt: the SDK's own
    // retry then has nothing to send. Segments, thumbnails and posters are files; each must
    // survive a 500 without waiting for the job's much slower retry of the whole message.
    const proxy = await startFaultProxy(emulator.endpoint);
    const client = testS3Client(proxy.endpoint);
    try {
      const file = path.join(dir, "segment.ts");
      const bytes = large.subarray(0, 3 * 1024 * 1024);
      await writeFile(file, bytes);
      let puts = 0;
      proxy.setRule(({ method }) => {
        if (method !== "PUT") return "pass";
        puts += 1;
        return puts === 1 ? { status: 500, code: "InternalError" } : "pass";
      });
      const store = new ObjectStore(client);
      assert.equal(
        await store.upload({ bucket: BUCKET, key: "out/retried.ts", body: { file }, contentType: "video/mp2t" }),
        bytes.length,
      );
      assert.equal(puts, 2, "one failed attempt, one SDK retry");
      assert.equal(sha256(await stored("out/retried.ts")), sha256(bytes));
    } finally {
      client.destroy();
      await proxy.close();
    }
  });
});
