import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { rotatedPhoneJpeg } from "../helpers/generate-images.ts";
import { manifestKeyOf } from "../helpers/outputs.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

interface ScoredOutput {
  variant: string;
  width?: number;
  height?: number;
  quality?: {
    metric: string;
    ssim?: number;
    psnrDb?: number;
    comparedWidth?: number;
    comparedHeight?: number;
    error?: string;
  };
}

describe("quality scores through the real consumer, Redis and emulator (QUALITY_SCORES=true)", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ env: { QUALITY_SCORES: "true" } });
  });
  after(async () => {
    await stack.stop();
  });

  test("every output's score is stored in the job result and in _manifest.json, and the timeline says it was scored", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-scored.jpg";
    const jobId = await stack.uploadAndNotify(key, await rotatedPhoneJpeg());
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const result = job.result as { outputs: ScoredOutput[] };
    assert.equal(result.outputs.length, 6);
    for (const output of result.outputs) {
      assert.equal(output.quality?.metric, "ssim", `${output.variant}: ${JSON.stringify(output.quality)}`);
      assert.ok(
        output.quality.ssim! > 0.8 && output.quality.ssim! <= 1,
        `${output.variant} SSIM ${output.quality.ssim}`,
      );
      assert.deepEqual([output.quality.comparedWidth, output.quality.comparedHeight], [output.width, output.height]);
    }
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as { outputs: ScoredOutput[] };
    assert.deepEqual(
      manifest.outputs.map((output) => [output.variant, output.quality?.ssim]),
      result.outputs.map((output) => [output.variant, output.quality?.ssim]),
    );
    assert.ok(job.timeline.some((entry) => entry.event === "quality-scored"));
  });
});
