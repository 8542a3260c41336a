import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { encryptedPdf, THREE_PAGE_INFO, THREE_PAGE_TEXT, threePagePdf } from "../media/document-fixtures.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { manifestKeyOf, runPrefixesOf } from "../helpers/outputs.ts";

describe("PDF uploads through the real consumer, Redis and emulator", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack.stop();
  });

  test("a three-page PDF yields a thumbnail, three page previews, its text and a manifest", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-report.pdf";
    const jobId = await stack.uploadAndNotify(key, Buffer.from(await threePagePdf()));
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.type, "document");

    const [prefix] = runPrefixesOf(job);
    for (const [name, width] of [
      ["thumb.webp", 300],
      ["page_1.webp", 1024],
      ["page_2.webp", 1024],
      ["page_3.webp", 1024],
    ] as const) {
      const metadata = await sharp(await stack.getObject(`${prefix}${name}`)).metadata();
      assert.deepEqual([metadata.format, metadata.width], ["webp", width], name);
    }
    const text = (await stack.getObject(`${prefix}text.txt`)).toString("utf8");
    assert.deepEqual(
      text
        .trimEnd()
        .split("\f")
        .map((page) => page.split("\n")),
      THREE_PAGE_TEXT,
    );

    const result = job.result as {
      outputs: Array<{ key: string; contentType: string }>;
      metadata: Record<string, unknown>;
    };
    assert.equal(result.metadata.title, THREE_PAGE_INFO.title);
    assert.equal(result.metadata.pageCount, 3);
    assert.equal(
      result.outputs.find((output) => output.key.endsWith("_text.txt"))?.contentType,
      "text/plain; charset=utf-8",
    );
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as { outputs: unknown[] };
    assert.equal(manifest.outputs.length, 5);
    const events = job.timeline.map((entry) => entry.event);
    for (const event of ["detected", "document-opened", "document-read", "completed"])
      assert.ok(events.includes(event), `timeline has ${event}: ${events.join(", ")}`);
    assert.deepEqual(await stack.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 }, "the message is deleted");
  });

  test("a password-protected PDF fails once with the password code and its message is deleted", async () => {
    const jobId = await stack.uploadAndNotify(
      "tenants/t1/users/u1/media/locked.pdf",
      Buffer.from(await encryptedPdf({ userPassword: "secret", ownerPassword: "owner", text: "Secret" })),
    );
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.deepEqual(
      [job.error?.category, job.error?.code, job.attempts],
      ["processing", "document-password-protected", 1],
    );
    assert.deepEqual(await stack.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 });
  });
});
