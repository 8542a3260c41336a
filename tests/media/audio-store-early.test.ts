import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { MediaError, transientError } from "../../src/errors.ts";
import { createAudioProcessor } from "../../src/processors/audio.processor.ts";
import type { Processor, ProcessContext } from "../../src/processors/processor.ts";
import { chirp, generateTone } from "../helpers/generate-audio.ts";
import { processLocally, testConfig, type LocalRun } from "../helpers/process-locally.ts";

/**
 * Issue 20: an audio job stores each output the moment it exists instead of all of them after
 * the last encode. Real ffmpeg on generated audio; the only fault is an injected upload failure.
 */

const execFileAsync = promisify(execFile);
let dir: string;
const runs: LocalRun[] = [];
const originalTmpDir = process.env["TMPDIR"];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-audio-early-"));
  process.env["TMPDIR"] = dir;
});
after(async () => {
  if (originalTmpDir === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = originalTmpDir;
  await Promise.all(runs.map((run) => run.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

/** The audio processor with its context's `output` and `step` wrapped, so the order of uploads and timeline entries is seen. */
function observed(wrapOutput: (ctx: ProcessContext) => ProcessContext["output"], events: string[]): Processor {
  const audio = createAudioProcessor(testConfig());
  return {
    ...audio,
    process: (ctx) => {
      const output = wrapOutput(ctx);
      return audio.process({
        ...ctx,
        step: (event, detail) => {
          events.push(`step:${event}`);
          ctx.step(event, detail);
        },
        output: (request) => {
          events.push(`output:${request.name}`);
          return output(request);
        },
      });
    },
  };
}

describe("audio outputs stored as they exist", () => {
  it("every transcode and waveform file is stored inside the encode step, before its `encoded` entry; the cover-free result keeps its order", async () => {
    const wav = await generateTone({
      channels: [chirp(0.5, 100, 4000, 6)],
      sampleRate: 44100,
      durationSec: 6,
      out: path.join(dir, "chirp.wav"),
    });
    const events: string[] = [];
    const local = await processLocally(
      observed((ctx) => ctx.output, events),
      wav,
    );
    runs.push(local);
    const encodedAt = events.indexOf("step:encoded");
    assert.ok(encodedAt > 0, `events: ${events.join(", ")}`);
    const names = ["mp3.mp3", "aac.m4a", "ogg.ogg", "waveform.json", "waveform.dat", "waveform.png"];
    for (const name of names) {
      const at = events.indexOf(`output:${name}`);
      assert.ok(at >= 0 && at < encodedAt, `${name} stored at ${at}, encoded recorded at ${encodedAt}`);
    }
    assert.deepEqual(
      local.result.outputs.map((output) => names.find((name) => output.key.endsWith(`_${name}`))),
      names,
    );
  });

  it("a failed upload of an early output stops the other ffmpegs and fails the job with the upload's error", async () => {
    const long = path.join(dir, "long.wav");
    await generateTone({ channels: [chirp(0.5, 100, 4000, 90)], sampleRate: 44100, durationSec: 90, out: long });
    const events: string[] = [];
    // The first output that exists fails to upload; the other runs are still encoding a 90 s track.
    let failed = false;
    const processor = observed(
      (ctx) => (request) => {
        if (!failed) {
          failed = true;
          return Promise.reject(transientError("s3-unavailable", `injected: ${request.name} not stored`));
        }
        return ctx.output(request);
      },
      events,
    );
    await assert.rejects(
      processLocally(processor, long, { config: testConfig() }),
      (error: unknown) => error instanceof MediaError && error.code === "s3-unavailable",
    );
    assert.ok(!events.includes("step:encoded"), `events: ${events.join(", ")}`);
    const { stdout } = await execFileAsync("ps", ["-eo", "args"]);
    assert.ok(
      !stdout.split("\n").some((line) => line.startsWith("ffmpeg") && line.includes(dir)),
      "no ffmpeg of the job is left",
    );
  });
});
