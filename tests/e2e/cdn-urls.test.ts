import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { manifestKeyOf } from "../helpers/outputs.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

/**
 * With CDN_BASE_URL set on the worker, every output names its absolute CDN URL wherever it is
 * recorded — the manifest the app reads and the job record the API and job events are built from.
 */
type Output = { key: string; variant: string; url?: string };

describe("outputs under CDN_BASE_URL", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ env: { CDN_BASE_URL: "https://cdn.example.com/media/" } });
  });
  after(async () => {
    await stack.stop();
  });

  test("the manifest and the job record give each output <base>/<key>, the key's segments percent-encoded", async () => {
    const key = "tenants/t1/users/u1/media/summer trip #1.png";
    const body = await sharp({ create: { width: 320, height: 200, channels: 3, background: "#20a040" } })
      .png()
      .toBuffer();
    const job: JobRecord = await stack.waitForJob(await stack.uploadAndNotify(key, body), undefined, 90_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const recorded = (job.result as { outputs: Output[] }).outputs;
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as { outputs: Output[] };
    assert.ok(recorded.length >= 6, `${recorded.length} outputs`);
    for (const outputs of [recorded, manifest.outputs]) {
      for (const output of outputs) {
        const expected = `https://cdn.example.com/media/${output.key.split("/").map(encodeURIComponent).join("/")}`;
        assert.equal(output.url, expected, output.variant);
      }
    }
    assert.ok(
      recorded.every((output) => output.url?.includes("summer%20trip%20%231")),
      "spaces and # are encoded, slashes kept",
    );
  });
});
