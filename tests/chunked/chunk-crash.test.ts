import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { generateClip } from "../helpers/generate-video.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { spawnWorker, type WorkerProcess } from "../helpers/worker-process.ts";
import { CHUNK_ENV, entries } from "./chunk-helpers.ts";

/**
 * A worker SIGKILLed in the middle of a chunk costs that chunk only: its message comes back
 * after the visibility timeout, another worker redoes that one chunk, every other chunk is
 * encoded exactly once and the job completes once.
 */
describe("a worker killed mid-chunk", () => {
  let stack: TestStack;
  let dir: string;
  const workers: WorkerProcess[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-chunk-crash-"));
    stack = await startTestStack({ noWorker: true, env: CHUNK_ENV });
  });
  after(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill("SIGKILL");
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("only the killed chunk is redone and the job completes once", async () => {
    const clip = await generateClip({
      width: 640,
      height: 360,
      durationSec: 20,
      fps: 25,
      out: path.join(dir, "clip.mp4"),
    });
    // Slow enough chunks (preset, three rungs) that the kill lands inside one; a short visibility timeout brings its message back soon.
    const env = {
      VIDEO_X264_PRESET: "slow",
      VIDEO_HLS_RUNGS: "144:200k:64k,240:300k:64k,360:600k:96k",
      SQS_VISIBILITY_TIMEOUT: "10",
      MEDIA_PROCESSOR_CONCURRENCY: "1",
    };
    const first = spawnWorker(stack.envFor({ ...env, WORKER_ID: "worker-killed" }));
    workers.push(first);
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/1700000000-crash.mp4", await readFile(clip));
    const started = await stack.waitForJob(
      jobId,
      (job) =>
        entries(job, "chunk-started").some(
          (entry) => entry["workerId"] === "worker-killed" && String(entry["chunk"]).startsWith("v"),
        ),
      90_000,
    );
    first.child.kill("SIGKILL");
    await first.exited;
    const killedPart = String(
      entries(started, "chunk-started").find(
        (entry) => entry["workerId"] === "worker-killed" && String(entry["chunk"]).startsWith("v"),
      )?.["chunk"],
    );
    workers.push(spawnWorker(stack.envFor({ ...env, WORKER_ID: "worker-survivor" })));
    const job = await stack.waitForJob(jobId, undefined, 180_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(entries(job, "completed").length, 1, "completed once");

    const encoded = entries(job, "chunk-encoded");
    const parts = [...new Set(encoded.map((entry) => String(entry["chunk"])))].sort();
    // 20 s in 4 s chunks: 0–4, 4–8, 8–12, then the last 8 s re-cut as 4 + 2 + 2 (shrinking tail).
    assert.deepEqual(parts, ["audio", "stills", "v0", "v1", "v2", "v3", "v4", "v5"]);
    assert.equal(encoded.length, parts.length, "every part encoded exactly once");
    const killedEncoded = encoded.find((entry) => entry["chunk"] === killedPart);
    assert.equal(killedEncoded?.["workerId"], "worker-survivor", `${killedPart} was finished by the survivor`);
    const startsOf = (part: string) => entries(job, "chunk-started").filter((entry) => entry["chunk"] === part);
    assert.deepEqual(
      startsOf(killedPart).map((entry) => entry["workerId"]),
      ["worker-killed", "worker-survivor"],
      "the killed chunk was started twice, by each worker once",
    );
    for (const part of parts.filter((name) => name !== killedPart))
      assert.equal(startsOf(part).length, 1, `${part} was started once`);
  });
});
