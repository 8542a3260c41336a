import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MediaError } from "../../src/errors.ts";
import { ffmpegCommandArgs, runFfmpeg } from "../../src/media/ffmpeg.runner.ts";

/** The runner's binary-stdout option (used for PCM → waveform), against the real ffmpeg. */
describe("ffmpeg runner with stdout data", () => {
  const pcmArgs = (seconds: number) => [
    "-f",
    "lavfi",
    "-i",
    `aevalsrc=0.5*sin(2*PI*440*t):s=8000:d=${seconds}`,
    "-c:a",
    "pcm_s16le",
    "-f",
    "s16le",
    "pipe:1",
  ];

  it("hands over every byte ffmpeg writes to stdout, with no progress text mixed in", async () => {
    let bytes = 0;
    let first: Buffer | undefined;
    let progressCalls = 0;
    await runFfmpeg({
      args: pcmArgs(1),
      trustedInputs: true,
      onStdoutData: (chunk) => {
        first ??= Buffer.from(chunk);
        bytes += chunk.length;
      },
      onProgress: () => progressCalls++,
    });
    assert.equal(bytes, 8000 * 2);
    // The first sample of sin is 0 and the next ones rise: PCM, not "frame=…" text.
    assert.equal(first?.readInt16LE(0), 0);
    assert.ok((first?.readInt16LE(2) ?? 0) > 0);
    assert.equal(progressCalls, 0);
  });

  it("requests no -progress on stdout when stdout carries data", () => {
    assert.ok(!ffmpegCommandArgs(["-i", "x"], { stdoutData: true }).includes("-progress"));
    assert.deepEqual(ffmpegCommandArgs(["-i", "x"]).slice(4, 6), ["-progress", "pipe:1"]);
  });

  it("a consumer that throws stops ffmpeg and the run rejects with its error", async () => {
    const started = performance.now();
    const refusal = new MediaError("consumer gave up", { code: "consumer-gave-up", category: "processing" });
    await assert.rejects(
      runFfmpeg({
        args: ["-re", ...pcmArgs(60)],
        trustedInputs: true,
        onStdoutData: () => {
          throw refusal;
        },
      }),
      (error: unknown) => error === refusal,
    );
    assert.ok(performance.now() - started < 5000, "ffmpeg was killed rather than left to run for a minute");
  });
});
