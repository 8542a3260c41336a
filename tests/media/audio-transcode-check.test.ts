import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { MediaError } from "../../src/errors.ts";
import { planTranscodes } from "../../src/processors/audio/transcode-plan.ts";
import { runTranscode } from "../../src/processors/audio/transcode-run.ts";
import { generateTone } from "../helpers/generate-audio.ts";
import { testConfig } from "../helpers/process-locally.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-transcode-check-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const wavSource = { codec: "pcm_s16le", bitrateKbps: 1411, sampleRate: 44100, channels: 2, lossless: true };

/** A WAV header that declares a data chunk of zero bytes: ffmpeg reads it, encodes nothing, exits 0. */
function emptyWav(): Buffer {
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36, 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(44100, 24);
  header.writeUInt32LE(44100 * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(0, 40);
  return header;
}

test("each transcode's duration is ffmpeg's own report, within one codec frame of the source, without probing the output", async () => {
  const wav = await generateTone({
    channels: ["0.5*sin(2*PI*440*t)", "0.5*sin(2*PI*660*t)"],
    sampleRate: 44100,
    durationSec: 2,
    out: path.join(dir, "tone.wav"),
  });
  for (const target of planTranscodes(wavSource, testConfig().audio)) {
    const outcome = await runTranscode({
      inputPath: wav,
      demuxer: "wav",
      target,
      outputPath: path.join(dir, `tone-${target.name}`),
      durationSec: 2,
      maxDurationSec: 60,
      signal: new AbortController().signal,
    });
    assert.ok(outcome.bytes > 0, target.name);
    // MP3 frames are 1152 samples (26 ms at 44.1 kHz), the longest of the three codecs.
    assert.ok(Math.abs(outcome.durationSec - 2) < 0.03, `${target.name}: ${outcome.durationSec} s`);
  }
});

test("a transcode that muxes no audio (a WAV of zero samples) is refused as transcode-invalid, though ffmpeg exits 0", async () => {
  const input = path.join(dir, "empty.wav");
  await writeFile(input, emptyWav());
  const [target] = planTranscodes(wavSource, testConfig().audio);
  await assert.rejects(
    runTranscode({
      inputPath: input,
      demuxer: "wav",
      target: target!,
      outputPath: path.join(dir, `empty-${target!.name}`),
      durationSec: undefined,
      maxDurationSec: 60,
      signal: new AbortController().signal,
    }),
    (error: unknown) => error instanceof MediaError && error.code === "transcode-invalid",
  );
});

test("a transcode is checked without running ffprobe on it (an ffprobe that always fails is never called)", async () => {
  // The one fault here is injected: a PATH whose ffprobe exits 1. ffmpeg is the real one.
  const bin = path.join(dir, "bin");
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, "ffprobe"), "#!/bin/sh\necho 'ffprobe must not run' >&2\nexit 1\n");
  await chmod(path.join(bin, "ffprobe"), 0o755);
  await symlink(execFileSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).trim(), path.join(bin, "ffmpeg"));
  const wav = await generateTone({
    channels: ["0.5*sin(2*PI*440*t)"],
    sampleRate: 44100,
    durationSec: 1,
    out: path.join(dir, "short.wav"),
  });
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${savedPath ?? ""}`;
  try {
    for (const target of planTranscodes({ ...wavSource, channels: 1, bitrateKbps: 706 }, testConfig().audio)) {
      const outcome = await runTranscode({
        inputPath: wav,
        demuxer: "wav",
        target,
        outputPath: path.join(dir, `short-${target.name}`),
        durationSec: 1,
        maxDurationSec: 60,
        signal: new AbortController().signal,
      });
      assert.ok(outcome.durationSec > 0.9, target.name);
    }
  } finally {
    process.env.PATH = savedPath;
  }
});
