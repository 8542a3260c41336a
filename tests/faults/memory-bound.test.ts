import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import sharp from "sharp";
import { startTestStack } from "../helpers/stack.ts";
import { spawnWorker } from "../helpers/worker-process.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * The stated bound: a worker process at MEDIA_PROCESSOR_CONCURRENCY=2 turning 24-megapixel JPEGs
 * into the full variant set peaks below 1.5 GiB resident (MALLOC_ARENA_MAX=2, as shipped).
 * Measured from the kernel's high-water mark (VmHWM) of the real worker process.
 */
const BOUND_MIB = 1536;
/** How long one job may take; the runner's --test-timeout (300 s in `npm test`) bounds the whole test. */
const MEMORY_WAIT_MS = 280_000;

test(`concurrency 2 × 24 MP images stays under ${BOUND_MIB} MiB peak RSS`, async () => {
  const stack = await startTestStack({ noWorker: true });
  const worker = spawnWorker({
    ...stack.envFor({ MEDIA_PROCESSOR_CONCURRENCY: "2", WORKER_ID: "memory-bound" }),
    MALLOC_ARENA_MAX: "2",
  });
  try {
    const photo = await sharp({
      create: {
        width: 6000,
        height: 4000,
        channels: 3,
        background: "#808080",
        noise: { type: "gaussian", mean: 128, sigma: 20 },
      },
    })
      .jpeg({ quality: 85 })
      .toBuffer();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await stack.uploadAndNotify(`memory/photo-${i}.jpg`, photo));
    let peakKb = 0;
    const sample = async () => {
      const status = await readFile(`/proc/${worker.child.pid}/status`, "utf8").catch(() => "");
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    };
    for (const id of ids) {
      const job = await waitForValue(
        async () => {
          await sample();
          return stack.store.get(id);
        },
        (record) => record !== undefined && (record.status === "completed" || record.status === "failed"),
        `job ${id} finished`,
        MEMORY_WAIT_MS,
        200,
      );
      assert.equal(job!.status, "completed", JSON.stringify(job!.error));
    }
    await sample();
    const peakMib = peakKb / 1024;
    console.log(
      `memory bound: peak RSS ${peakMib.toFixed(0)} MiB for 4 × 24 MP JPEGs at concurrency 2 (bound ${BOUND_MIB} MiB)`,
    );
    assert.ok(peakMib > 50, "the measurement read the worker's memory");
    assert.ok(peakMib < BOUND_MIB, `peak RSS ${peakMib.toFixed(0)} MiB`);
  } finally {
    worker.child.kill("SIGTERM");
    await worker.exited;
    await stack.stop();
  }
});
