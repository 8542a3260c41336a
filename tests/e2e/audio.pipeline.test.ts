import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import WaveformData from "waveform-data";
import { refineMediaKind } from "../../src/media/refine-media.ts";
import { generateTone } from "../helpers/generate-audio.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { manifestKeyOf, outputKeyOf, runPrefixesOf } from "../helpers/outputs.ts";

const execFileAsync = promisify(execFile);

describe("audio uploads through the real consumer, Redis and emulator", () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-audio-e2e-"));
    // The worker's ffprobe refinement (audio-only MP4/WebM → kind audio), passed the way the
    // worker takes it, so the test does not depend on whether startWorker wires it by default.
    stack = await startTestStack({
      workerOptions: { refineMedia: (inputPath, media, signal) => refineMediaKind(inputPath, media, { signal }) },
    });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("an audio-only MP4 is routed to the audio processor and yields transcodes, waveform files and a manifest", async () => {
    const mp4 = await generateTone({
      channels: ["0.6*sin(2*PI*440*t)*(0.5+0.5*sin(2*PI*2*t))", "0.3*sin(2*PI*660*t)"],
      sampleRate: 48000,
      durationSec: 1.5,
      out: path.join(dir, "voice.mp4"),
      codecArgs: ["-c:a", "aac", "-b:a", "128k"],
      extraArgs: ["-metadata", "title=Grüße aus Köln", "-f", "mp4"],
    });
    const key = "tenants/t1/users/u1/media/1700000000-abc-voice.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(mp4));
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.type, "audio");

    const [prefix] = runPrefixesOf(job);
    const keys = await stack.listKeys(prefix);
    assert.deepEqual(
      keys,
      ["aac.m4a", "mp3.mp3", "ogg.ogg", "waveform.dat", "waveform.json", "waveform.png"].map((name) => prefix + name),
    );
    assert.deepEqual(await stack.listKeys(manifestKeyOf(key)), [manifestKeyOf(key)]);

    for (const [name, codec] of [
      ["mp3.mp3", "mp3"],
      ["aac.m4a", "aac"],
      ["ogg.ogg", "opus"],
    ] as const) {
      const local = path.join(dir, name);
      await writeFile(local, await stack.getObject(prefix + name));
      const { stdout } = await execFileAsync("ffprobe", [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        local,
      ]);
      const probe = JSON.parse(stdout) as { streams: Array<{ codec_name: string }>; format: { duration: string } };
      assert.equal(probe.streams[0]?.codec_name, codec);
      assert.ok(Math.abs(Number(probe.format.duration) - 1.5) <= 0.1, `${name} lasts ${probe.format.duration}`);
    }
    const json = JSON.parse((await stack.getObject(`${prefix}waveform.json`)).toString()) as Parameters<
      typeof WaveformData.create
    >[0];
    const waveform = WaveformData.create(json);
    // AAC decodes to a little more than was encoded (the last frame's padding): within ±0.1 s.
    assert.equal(waveform.sample_rate, 48000);
    assert.ok(Math.abs(waveform.duration - 1.5) <= 0.1, `waveform covers ${waveform.duration} s`);

    const result = job.result as { metadata: { tags: { title?: string }; durationSec: number } };
    assert.equal(result.metadata.tags.title, "Grüße aus Köln");
    const events = job.timeline.map((entry) => entry.event);
    for (const event of ["probed", "planned", "encoded", "completed"])
      assert.ok(events.includes(event), `timeline has ${event}: ${events.join(",")}`);
    assert.deepEqual(await stack.queueDepth(), { visible: 0, inFlight: 0, delayed: 0 }, "the message is deleted");
  });

  test("an M4A is recognised as audio from its bytes and processed", async () => {
    const m4a = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 44100,
      durationSec: 1,
      out: path.join(dir, "note.m4a"),
      codecArgs: ["-c:a", "aac", "-b:a", "64k"],
    });
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/note.m4a", await readFile(m4a));
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.type, "audio");
    const dat = await stack.getObject(outputKeyOf(job, "waveform.dat"));
    const waveform = WaveformData.create(
      dat.buffer.slice(dat.byteOffset, dat.byteOffset + dat.byteLength) as ArrayBuffer,
    );
    assert.equal(waveform.channels, 1);
    assert.ok(Math.abs(waveform.duration - 1) < 0.05, `waveform covers ${waveform.duration} s`);
  });

  test("an MP3 that is only an ID3 header and noise fails as a processing error, not retried", async () => {
    const bytes = Buffer.concat([Buffer.from("ID3\x03\x00\x00\x00\x00\x00\x00", "latin1"), Buffer.alloc(8192, 0x5a)]);
    const jobId = await stack.uploadAndNotify("tenants/t1/users/u1/media/broken.mp3", bytes);
    const job = await stack.waitForJob(jobId);
    assert.equal(job.status, "failed");
    assert.equal(job.error?.category, "processing");
    assert.equal(job.attempts, 1);
  });
});
