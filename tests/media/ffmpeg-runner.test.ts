import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { MediaError } from "../../src/errors.ts";
import { runFfmpeg, safeInputArgs, VIDEO_DEMUXERS, type FfmpegProgress } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { refineMediaKind } from "../../src/media/refine-media.ts";
import { runTool } from "../../src/media/tool-process.ts";
import { generateClip } from "../helpers/generate-video.ts";

/** The runner against the real ffmpeg/ffprobe: progress, abort, timeout, failures, probing. */

let dir: string;
let clip: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-runner-"));
  clip = await generateClip({ width: 320, height: 240, durationSec: 2, fps: 10, out: path.join(dir, "clip.mp4") });
});
after(() => rm(dir, { recursive: true, force: true }));

/** Pids of live processes whose command line contains (or, with `prefix`, starts with) `marker` (from /proc). */
async function processesWith(marker: string, prefix = false): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, "utf8")).replaceAll("\0", " ");
      const state = (await readFile(`/proc/${entry}/stat`, "utf8")).split(") ")[1]?.[0];
      const matches = prefix ? cmdline.startsWith(marker) : cmdline.includes(marker);
      if (matches && state !== "Z") found.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return found;
}

/** An ffmpeg run that would take minutes: an endless generated source, realtime-paced. */
const endlessArgs = (marker: string) => [
  "-re",
  "-f",
  "lavfi",
  "-i",
  "testsrc2=s=320x240:r=25",
  "-f",
  "null",
  "-metadata",
  `title=${marker}`,
  "-",
];

describe("ffmpeg runner", () => {
  test("progress reaches 100 % with the output time of the source", async () => {
    const blocks: FfmpegProgress[] = [];
    const out = path.join(dir, "copy.mkv");
    const result = await runFfmpeg({
      args: [
        ...safeInputArgs(clip, { demuxers: VIDEO_DEMUXERS, format: "mov" }),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-c:a",
        "copy",
        "-y",
        out,
      ],
      durationSec: 2,
      onProgress: (progress) => blocks.push(progress),
    });
    const last = blocks.at(-1);
    assert.equal(last?.done, true);
    assert.equal(last?.percent, 100);
    assert.ok(Math.abs((last?.outTimeSec ?? 0) - 2) < 0.2, `out time ${last?.outTimeSec}`);
    assert.ok(result.elapsedMs > 0);
    assert.ok((await stat(out)).size > 0);
  });

  test("an abort kills ffmpeg promptly and throws the cancellation", async () => {
    const marker = `abort-${randomUUID()}`;
    const controller = new AbortController();
    const run = runFfmpeg({ args: endlessArgs(marker), signal: controller.signal, trustedInputs: true });
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal((await processesWith(marker)).length, 1, "ffmpeg should be running before the abort");
    const abortedAt = performance.now();
    controller.abort("cancelled");
    await assert.rejects(run, (error: MediaError) => error.category === "cancelled" && error.code === "cancelled");
    assert.ok(performance.now() - abortedAt < 2000, "the run should end within 2 s of the abort");
    assert.deepEqual(await processesWith(marker), []);
  });

  test("an abort whose reason is the processing timeout throws resource/processing-timeout", async () => {
    const controller = new AbortController();
    const run = runFfmpeg({
      args: endlessArgs(`timeout-reason-${randomUUID()}`),
      signal: controller.signal,
      trustedInputs: true,
    });
    setTimeout(() => controller.abort("timeout"), 300);
    await assert.rejects(
      run,
      (error: MediaError) => error.category === "resource" && error.code === "processing-timeout",
    );
  });

  test("the runner's own timeout kills ffmpeg: resource/ffmpeg-timeout", async () => {
    const marker = `timeout-${randomUUID()}`;
    await assert.rejects(
      runFfmpeg({ args: endlessArgs(marker), timeoutMs: 500, trustedInputs: true }),
      (error: MediaError) => error.category === "resource" && error.code === "ffmpeg-timeout",
    );
    assert.deepEqual(await processesWith(marker), []);
  });

  test("an already aborted signal never starts ffmpeg", async () => {
    await assert.rejects(
      runFfmpeg({ args: endlessArgs("never"), signal: AbortSignal.abort("cancelled"), trustedInputs: true }),
      /cancelled/,
    );
  });

  test("the abort kills the whole process group, children included", async () => {
    // A unique fractional sleep duration marks the children in /proc.
    const marker = `300.${Math.floor(Math.random() * 1e9)}`;
    const controller = new AbortController();
    // A tool that forks children which would outlive a plain kill of their parent.
    const run = runTool({
      binary: "sh",
      args: ["-c", `sleep ${marker} & sleep ${marker} & wait`],
      signal: controller.signal,
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await processesWith(`sleep ${marker}`, true)).length, 2);
    } finally {
      controller.abort("cancelled");
    }
    await assert.rejects(run, /cancelled/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(await processesWith(`sleep ${marker}`), []);
  });

  test("a corrupt input fails processing/ffmpeg-failed with ffmpeg's own words", async () => {
    const corrupt = path.join(dir, "corrupt.mp4");
    const bytes = await readFile(clip);
    await writeFile(corrupt, Buffer.concat([bytes.subarray(0, 64), Buffer.alloc(4096, 7)]));
    await assert.rejects(
      runFfmpeg({ args: [...safeInputArgs(corrupt, { demuxers: VIDEO_DEMUXERS }), "-f", "null", "-"] }),
      (error: MediaError) =>
        error.category === "processing" && error.code === "ffmpeg-failed" && error.message.length > 30,
    );
  });

  test("a missing ffmpeg binary is a configuration error", async () => {
    await assert.rejects(
      runFfmpeg({ args: safeInputArgs(clip), binary: "/nonexistent/ffmpeg" }),
      (error: MediaError) => error.category === "configuration" && error.code === "ffmpeg-missing",
    );
  });

  test("arguments that break the safety rules are refused before anything runs", async () => {
    await assert.rejects(
      runFfmpeg({ args: ["-f", "concat", "-safe", "0", "-i", "file:/tmp/list.txt", "-f", "null", "-"] }),
      /unsafe arguments/,
    );
    await assert.rejects(
      runFfmpeg({ args: ["-i", "https://example.com/a.mp4", "-f", "null", "-"] }),
      /unsafe arguments/,
    );
  });
});

describe("ffprobe", () => {
  test("a rotated phone clip reports its stored and displayed size, codecs and audio", async () => {
    const rotated = await generateClip({
      width: 320,
      height: 180,
      durationSec: 1,
      rotateDeg: 90,
      out: path.join(dir, "rotated.mp4"),
    });
    const probe = await probeMedia(rotated, { demuxers: VIDEO_DEMUXERS });
    assert.equal(probe.format.demuxer, "mov");
    assert.deepEqual([probe.video?.width, probe.video?.height], [320, 180]);
    // ffmpeg 5.1 stores the rotate=90 tag as a counter-clockwise quarter turn: 270 clockwise.
    assert.deepEqual(
      [probe.video?.displayWidth, probe.video?.displayHeight, probe.video?.rotationDeg],
      [180, 320, 270],
    );
    assert.equal(probe.video?.codec, "h264");
    assert.equal(probe.video?.fps, 10);
    assert.deepEqual([probe.audio?.codec, probe.audio?.channels, probe.audio?.sampleRate], ["aac", 2, 48000]);
    assert.ok(Math.abs((probe.durationSec ?? 0) - 1) < 0.1);
  });

  test("an M4A-like MP4 with only audio is refined to kind audio; a video stays video", async () => {
    const audioOnly = path.join(dir, "audio-only.mp4");
    await runFfmpeg({
      args: ["-f", "lavfi", "-i", "sine=frequency=300:duration=1", "-c:a", "aac", "-y", audioOnly],
      trustedInputs: true,
    });
    const refined = await refineMediaKind(audioOnly, { kind: "video", format: "mp4", mime: "video/mp4" });
    assert.deepEqual([refined.kind, refined.mime], ["audio", "audio/mp4"]);
    const video = await refineMediaKind(clip, { kind: "video", format: "mp4", mime: "video/mp4" });
    assert.equal(video.kind, "video");
  });

  test("an audio file with cover art is audio: an attached picture is not video", async () => {
    const cover = path.join(dir, "cover.png");
    await runFfmpeg({
      args: ["-f", "lavfi", "-i", "color=c=red:s=64x64", "-frames:v", "1", "-y", cover],
      trustedInputs: true,
    });
    const withCover = path.join(dir, "with-cover.m4a");
    await runFfmpeg({
      args: [
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-i",
        cover,
        "-map",
        "0:a",
        "-map",
        "1:v",
        "-c:a",
        "aac",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
        "-y",
        withCover,
      ],
      trustedInputs: true,
    });
    const probe = await probeMedia(withCover);
    assert.equal(probe.video, undefined);
    assert.equal(probe.attachedPictureCount, 1);
    const refined = await refineMediaKind(withCover, { kind: "video", format: "mp4", mime: "video/mp4" });
    assert.equal(refined.kind, "audio");
  });

  test("a file that is not media fails processing", async () => {
    const text = path.join(dir, "notes.mp4");
    await writeFile(text, "just some text, not a video\n".repeat(50));
    await assert.rejects(probeMedia(text), (error: MediaError) => error.category === "processing");
  });
});
