import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startTestStack } from "../helpers/stack.ts";

describe("resource limits", () => {
  test("PROCESSING_TIMEOUT aborts the job: failed resource/processing-timeout, not retried, worker goes on", async () => {
    const stack = await startTestStack({
      processors: [createSlowProcessor(30_000)],
      env: { PROCESSING_TIMEOUT: "1s" },
    });
    try {
      const jobId = await stack.uploadAndNotify("limits/forever.txt", "SLOW forever");
      const job = await stack.waitForJob(jobId);
      assert.equal(job.status, "failed");
      assert.deepEqual([job.error?.category, job.error?.code], ["resource", "processing-timeout"]);
      assert.ok(job.durationMs! < 5_000, `stopped promptly (${job.durationMs} ms)`);
      assert.equal(job.attempts, 1);
      const next = await stack.uploadAndNotify("limits/after.png", await transparentPng());
      assert.equal((await stack.waitForJob(next)).status, "completed");
    } finally {
      await stack.stop();
    }
  });

  describe("a full temp disk", () => {
    let mountPoint: string;
    let mounted = false;
    before(async () => {
      mountPoint = await mkdtemp(path.join(os.tmpdir(), "mp-tmpfs-"));
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "ignore" });
        mounted = true;
      } catch {
        mounted = false;
      }
    });
    after(async () => {
      if (mounted) execFileSync("umount", [mountPoint], { stdio: "ignore" });
      await rm(mountPoint, { recursive: true, force: true });
    });

    test("fails the job as resource/disk-full after its retries, and smaller jobs still complete", async (t) => {
      if (!mounted) return t.skip("needs root to mount a 1 MiB tmpfs");
      const stack = await startTestStack({
        env: { TEMP_DIR: mountPoint, RETRY_BACKOFF_BASE: "1", RETRY_BACKOFF_MAX: "1" },
      });
      try {
        const big = Buffer.alloc(3 * 1024 * 1024, 7);
        const bigId = await stack.uploadAndNotify("limits/huge.bin", big);
        const job = await stack.waitForJob(bigId, (record) => record.status === "failed", 60_000);
        assert.deepEqual([job.error?.category, job.error?.code], ["resource", "disk-full"]);
        const small = await stack.uploadAndNotify("limits/small.png", await transparentPng());
        assert.equal((await stack.waitForJob(small)).status, "completed");
      } finally {
        await stack.stop();
      }
    });
  });
});
