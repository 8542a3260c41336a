import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { detectFromBytes } from "../../src/media/detect-type.ts";
import { FORMAT_FIXTURES, makeFixture } from "../helpers/generate-formats.ts";
import { manifestKeyOf, outputKeyOf } from "../helpers/outputs.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

const execFileAsync = promisify(execFile);

/**
 * Every upload format of the list, generated on the spot, through the real consumer,
 * Redis, the emulator and ffmpeg: detected from its bytes (the key's extension is a decoy —
 * every key ends in `.bin`), routed to the right processor, and completed with outputs that
 * decode. Formats the build cannot read fail saying so, categorised and not retried, and a job
 * refused before a processor is chosen records what was detected.
 */
describe("real-world upload formats through the real pipeline", () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-formats-e2e-"));
    stack = await startTestStack({
      env: {
        VIDEO_HLS_SEGMENT_SECONDS: "1",
        VIDEO_X264_PRESET: "ultrafast",
        VIDEO_HLS_RUNGS: "240:300k:64k",
        AUDIO_FORMATS: "mp3",
      },
    });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const head = async (file: string) => {
    const handle = await open(file, "r");
    try {
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  };

  for (const fixture of FORMAT_FIXTURES) {
    test(`${fixture.name} is detected from its bytes and completes as ${fixture.finalKind}`, async () => {
      const file = await makeFixture(fixture, dir);
      const detected = detectFromBytes(await head(file));
      assert.deepEqual({ kind: detected.kind, format: detected.format }, fixture.expect);

      const slug = fixture.fileName.replace(/\W/g, "-").toLowerCase();
      const key = `tenants/t1/users/u1/media/${slug}.bin`;
      const jobId = await stack.uploadAndNotify(key, await readFile(file));
      const job = await stack.waitForJob(jobId, undefined, 120_000);
      assert.equal(job.status, "completed", `${fixture.name}: ${JSON.stringify(job.error)}`);
      assert.equal(job.type, fixture.finalKind);
      assert.equal(job.attempts, 1);

      const local = path.join(dir, `${slug}-out`);
      if (fixture.finalKind === "audio") {
        await writeFile(local, await stack.getObject(outputKeyOf(job, "mp3.mp3")));
      } else {
        const master = outputKeyOf(job, "hls/master.m3u8");
        const keys = await stack.listKeys(master.slice(0, -"master.m3u8".length));
        assert.ok(keys.includes(master), keys.join(","));
        // The one rung's first segment must hold real frames.
        const segment = keys.find((candidate) => candidate.endsWith(".ts"))!;
        await writeFile(local, await stack.getObject(segment));
        assert.ok((await stack.getObject(outputKeyOf(job, "poster.jpg"))).length > 500);
      }
      const { stdout } = await execFileAsync("ffprobe", [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        local,
      ]);
      const probe = JSON.parse(stdout) as {
        streams: Array<{ codec_type: string; codec_name: string }>;
        format: { duration?: string };
      };
      assert.ok(
        probe.streams.some((stream) => stream.codec_type === (fixture.finalKind === "audio" ? "audio" : "video")),
        stdout,
      );
      assert.ok(Number(probe.format.duration) > 0.3, `${fixture.name}: output lasts ${probe.format.duration}`);
      const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
        media: { kind: string; format: string };
      };
      assert.equal(manifest.media.kind, fixture.finalKind);
    });
  }

  test("a CAF holding a codec ffmpeg 5.1 has no decoder for fails 'not supported by this build', once, as audio", async () => {
    const caf = await makeFixture(FORMAT_FIXTURES.find((fixture) => fixture.expect.format === "caf")!, dir);
    const bytes = await readFile(caf);
    // The format ID of the `desc` chunk (8 bytes after its header: sample rate, then the four-character code).
    const desc = bytes.indexOf("desc", 0, "latin1");
    bytes.write("QQQQ", desc + 20, "latin1");
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/future-codec.caf", bytes);
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.deepEqual(
      [job.error?.category, job.error?.code, job.error?.retryable],
      ["processing", "unsupported-by-build", false],
    );
    assert.match(job.error?.message ?? "", /^Audio coded as "QQQQ" in Apple CAF .* is not supported by this build/);
    assert.equal(job.type, "audio");
    assert.equal(job.attempts, 1);
  });

  test("multi-channel AMR, which ffmpeg 5.1 cannot demux, fails 'not supported by this build' and the job records audio/amr-mc", async () => {
    const jobId = await stack.uploadAndNotify(
      "tenants/t1/users/u1/media/conference.amr",
      Buffer.concat([Buffer.from("#!AMR_MC1.0\n\x00\x00\x00\x03", "latin1"), Buffer.alloc(64)]),
    );
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.deepEqual(
      [job.error?.category, job.error?.code, job.error?.retryable],
      ["processing", "unsupported-by-build", false],
    );
    assert.match(job.error?.message ?? "", /^Multi-channel AMR is not supported by this build/);
    assert.equal(job.type, "audio");
    const detected = job.timeline.find((entry) => entry.event === "detected");
    assert.deepEqual(detected?.detail, { kind: "audio", format: "amr-mc", mime: "audio/amr", processor: null });
  });

  test("bytes no processor accepts fail unsupported-type with the job typed 'unknown', not 'pending'", async () => {
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/notes.mp3", "just some text, not audio");
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.equal(job.error?.code, "unsupported-type");
    assert.equal(job.type, "unknown");
    const detected = job.timeline.find((entry) => entry.event === "detected");
    assert.deepEqual(detected?.detail, {
      kind: "unknown",
      format: "unknown",
      mime: "application/octet-stream",
      processor: null,
    });
  });
});
