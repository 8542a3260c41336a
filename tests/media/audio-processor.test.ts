import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import WaveformData from "waveform-data";
import type { AppConfig } from "../../src/config/config.ts";
import { MediaError } from "../../src/errors.ts";
import { detectFileType } from "../../src/media/detect-type.ts";
import { refineMediaKind } from "../../src/media/refine-media.ts";
import { createAudioProcessor } from "../../src/processors/audio.processor.ts";
import { builtinProcessors } from "../../src/processors/builtin.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { ProcessorRegistry } from "../../src/processors/registry.ts";
import { chirp, generateTone, readWavPcm, referenceWaveform, writeLyingWav } from "../helpers/generate-audio.ts";
import { LOCAL_RUN, processLocally, testConfig, type LocalRun } from "../helpers/process-locally.ts";

/** The audio processor on generated audio, real ffmpeg/ffprobe/sharp, outputs read back independently. */

const execFileAsync = promisify(execFile);
let dir: string;
const runs: LocalRun[] = [];

const originalTmpDir = process.env["TMPDIR"];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-audio-"));
  // processLocally makes its job dirs under os.tmpdir(); pointing it here means runs that throw
  // (and so never hand back their cleanup) are removed with the rest.
  process.env["TMPDIR"] = dir;
});
after(async () => {
  if (originalTmpDir === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = originalTmpDir;
  await Promise.all(runs.map((run) => run.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

async function run(
  input: string,
  env: Record<string, string> = {},
  options: { signal?: AbortSignal; config?: AppConfig } = {},
): Promise<LocalRun> {
  const config = options.config ?? testConfig(env);
  const result = await processLocally(createAudioProcessor(config), input, {
    config,
    sourceKey: `tenants/t1/users/u1/media/${path.basename(input)}`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  runs.push(result);
  return result;
}

/** The local file of the output whose key ends with `suffix`. */
function fileOf(local: LocalRun, suffix: string): string {
  const entry = [...local.files.entries()].find(([key]) => key.endsWith(suffix));
  assert.ok(entry, `no output ending in ${suffix}; got ${[...local.files.keys()].join(", ")}`);
  return entry[1];
}

interface ProbedFile {
  streams: Array<{
    codec_type: string;
    codec_name: string;
    channels?: number;
    sample_rate?: string;
    bit_rate?: string;
  }>;
  format: { duration?: string; format_name: string; bit_rate?: string; tags?: Record<string, string> };
}

/** ffprobe run directly (not through the code under test). */
async function ffprobe(file: string): Promise<ProbedFile> {
  const { stdout } = await execFileAsync("ffprobe", [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    file,
  ]);
  return JSON.parse(stdout) as ProbedFile;
}

/** Decodes the whole file (the real duration, not a header's) and returns it in seconds. */
async function decodedSeconds(file: string): Promise<number> {
  const { stdout } = await execFileAsync(
    "ffmpeg",
    ["-v", "error", "-i", file, "-f", "s16le", "-ac", "1", "-ar", "48000", "-"],
    { encoding: "buffer", maxBuffer: 1e8 },
  );
  return stdout.length / 2 / 48000;
}

const toArrayBuffer = (buffer: Buffer): ArrayBuffer =>
  buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;

/** Both waveform files parsed by the `waveform-data` library, as a player would. */
async function parsedWaveforms(local: LocalRun): Promise<WaveformData[]> {
  const json = JSON.parse(await readFile(fileOf(local, "_waveform.json"), "utf8")) as Parameters<
    typeof WaveformData.create
  >[0];
  const dat = await readFile(fileOf(local, "_waveform.dat"));
  return [WaveformData.create(json), WaveformData.create(toArrayBuffer(dat))];
}

function assertMatchesReference(waveform: WaveformData, reference: number[][], bits: 8 | 16): void {
  const scale = (value: number) => (bits === 8 ? Math.trunc(value / 256) : value);
  assert.equal(waveform.length, reference.length);
  for (let index = 0; index < reference.length; index++) {
    for (let channel = 0; channel < waveform.channels; channel++) {
      const expectedMin = scale(reference[index]![channel * 2]!);
      const expectedMax = scale(reference[index]![channel * 2 + 1]!);
      if (
        waveform.channel(channel).min_sample(index) !== expectedMin ||
        waveform.channel(channel).max_sample(index) !== expectedMax
      ) {
        assert.fail(
          `point ${index} channel ${channel}: got ${waveform.channel(channel).min_sample(index)}..${waveform.channel(channel).max_sample(index)}, expected ${expectedMin}..${expectedMax}`,
        );
      }
    }
  }
}

describe("audio processor", () => {
  it("a 440 Hz sine at half scale: waveform files parse, match the PCM, and every transcode plays for 2 s", async () => {
    const wav = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 44100,
      durationSec: 2,
      out: path.join(dir, "sine.wav"),
    });
    const local = await run(wav);
    assert.deepEqual(
      local.result.outputs.map((output) => output.key.split("/").pop()),
      ["mp3.mp3", "aac.m4a", "ogg.ogg", "waveform.json", "waveform.dat", "waveform.png"].map(
        (name) => `sine.wav.${LOCAL_RUN}_${name}`,
      ),
    );

    const reference = referenceWaveform(await readWavPcm(wav), 256, false);
    assert.equal(reference.length, Math.ceil(88200 / 256));
    for (const waveform of await parsedWaveforms(local)) {
      assert.deepEqual([waveform.channels, waveform.sample_rate, waveform.scale, waveform.bits], [1, 44100, 256, 8]);
      assertMatchesReference(waveform, reference, 8);
      // Half scale: peaks at ±64 of ±128.
      assert.ok(Math.abs(waveform.channel(0).max_sample(100) - 64) <= 1);
    }

    const expected = { "_mp3.mp3": "mp3", "_aac.m4a": "aac", "_ogg.ogg": "opus" };
    for (const [suffix, codec] of Object.entries(expected)) {
      const file = fileOf(local, suffix);
      const probe = await ffprobe(file);
      const audio = probe.streams.filter((stream) => stream.codec_type === "audio");
      assert.equal(audio.length, 1, `${suffix} has one audio stream`);
      assert.equal(audio[0]!.codec_name, codec);
      assert.equal(audio[0]!.channels, 1, `${suffix}: mono stays mono`);
      assert.ok(Math.abs(Number(probe.format.duration) - 2) <= 0.1, `${suffix} lasts ${probe.format.duration} s`);
      assert.ok(Math.abs((await decodedSeconds(file)) - 2) <= 0.1, `${suffix} decodes to 2 s`);
    }
    const m4a = await readFile(fileOf(local, "_aac.m4a"));
    assert.ok(m4a.indexOf("moov") < m4a.indexOf("mdat"), "faststart: the index comes before the media data");
    assert.equal((await detectFileType(fileOf(local, "_aac.m4a"))).kind, "audio");
    assert.equal(local.result.metadata["durationSec"], 2);
    assert.equal(local.result.metadata["lossless"], true);
    assert.ok(local.progress.at(-1) === 100 && local.progress.length > 2, `progress ${local.progress.join(",")}`);

    const png = await readFile(fileOf(local, "_waveform.png"));
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [1800, 280]);
    const painted = (x: number) => {
      let rows = 0;
      for (let y = 0; y < info.height; y++) if (data[(y * info.width + x) * info.channels] !== 255) rows++;
      return rows;
    };
    // The picture is scaled to the recording's peak (audiowaveform's --amplitude-scale auto):
    // a half-scale sine fills the whole height, all along, while the data above stay at ±64.
    for (const x of [10, 900, 1790]) assert.ok(painted(x) >= 276, `column ${x} painted ${painted(x)} rows`);
    assert.ok(
      Math.abs((local.result.metadata["peakLevelDbfs"] as number) + 6.02) <= 0.1,
      `peak ${String(local.result.metadata["peakLevelDbfs"])} dBFS`,
    );
    await writeFile("/tmp/audio-sine-waveform.png", png);
  });

  it("a quiet voice memo peaking at −43 dBFS gets a waveform PNG scaled to its peak, true data files, and its peak level in metadata", async () => {
    // 10^(−43/20) ≈ 0.00708 of full scale: a phone held far from the speaker.
    const wav = await generateTone({
      channels: ["0.00708*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*1.5*t))"],
      sampleRate: 16000,
      durationSec: 2,
      out: path.join(dir, "quiet.wav"),
    });
    const local = await run(wav, { AUDIO_FORMATS: "none", AUDIO_WAVEFORM_BITS: "16" });
    const [json] = await parsedWaveforms(local);
    let dataPeak = 0;
    for (let index = 0; index < json!.length; index++)
      dataPeak = Math.max(dataPeak, json!.channel(0).max_sample(index), -json!.channel(0).min_sample(index));
    assert.ok(Math.abs(dataPeak - 232) <= 2, `the data keep the true samples (peak ${dataPeak} of 32767)`);
    assert.ok(
      Math.abs((local.result.metadata["peakLevelDbfs"] as number) + 43) <= 0.3,
      `peak ${String(local.result.metadata["peakLevelDbfs"])} dBFS`,
    );
    const { data, info } = await sharp(await readFile(fileOf(local, "_waveform.png")))
      .raw()
      .toBuffer({ resolveWithObject: true });
    let tallest = 0;
    for (let x = 0; x < info.width; x += 10) {
      let rows = 0;
      for (let y = 0; y < info.height; y++) if (data[(y * info.width + x) * info.channels] !== 255) rows++;
      tallest = Math.max(tallest, rows);
    }
    // Unscaled it is a one-pixel line (232/32768 of 140 px is under one pixel each way).
    assert.ok(tallest >= info.height * 0.95, `the loudest column paints ${tallest} of ${info.height} rows`);
    await writeFile("/tmp/audio-quiet-waveform.png", await readFile(fileOf(local, "_waveform.png")));
  });

  it("a stereo chirp at 16 bits and 100 samples per pixel matches the mono mix-down of the PCM", async () => {
    const wav = await generateTone({
      channels: [chirp(0.8, 50, 2000, 1.5), `0.5*${chirp(0.8, 50, 2000, 1.5)}`],
      sampleRate: 22050,
      durationSec: 1.5,
      out: path.join(dir, "chirp.wav"),
    });
    const local = await run(wav, {
      AUDIO_WAVEFORM_BITS: "16",
      AUDIO_WAVEFORM_SAMPLES_PER_PIXEL: "100",
      AUDIO_FORMATS: "none",
    });
    const pcm = await readWavPcm(wav);
    const reference = referenceWaveform(pcm, 100, false);
    assert.equal(reference.length, Math.ceil(pcm.samples.length / 2 / 100));
    for (const waveform of await parsedWaveforms(local)) {
      assert.deepEqual([waveform.channels, waveform.bits, waveform.scale], [1, 16, 100]);
      assertMatchesReference(waveform, reference, 16);
    }
    assert.equal(
      local.result.outputs.filter((output) => /audio\//.test(output.contentType)).length,
      0,
      "AUDIO_FORMATS=none makes no transcodes",
    );
    await writeFile("/tmp/audio-chirp-waveform.png", await readFile(fileOf(local, "_waveform.png")));
  });

  it("stereo with split channels gives two channels, each matching its own PCM", async () => {
    const wav = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)", "0.25*sin(2*PI*660*t)"],
      sampleRate: 44100,
      durationSec: 1,
      out: path.join(dir, "split.wav"),
    });
    const local = await run(wav, { AUDIO_WAVEFORM_SPLIT_CHANNELS: "true", AUDIO_FORMATS: "mp3" });
    const reference = referenceWaveform(await readWavPcm(wav), 256, true);
    for (const waveform of await parsedWaveforms(local)) {
      assert.equal(waveform.channels, 2);
      assertMatchesReference(waveform, reference, 8);
      assert.ok(
        Math.abs(waveform.channel(0).max_sample(50) - 64) <= 1 &&
          Math.abs(waveform.channel(1).max_sample(50) - 32) <= 1,
      );
    }
    assert.equal(
      (await readFile(fileOf(local, "_waveform.dat"))).readInt32LE(0),
      2,
      "two channels need the version 2 .dat",
    );
    const mp3 = await ffprobe(fileOf(local, "_mp3.mp3"));
    assert.equal(mp3.streams[0]!.channels, 2);
    await writeFile("/tmp/audio-split-waveform.png", await readFile(fileOf(local, "_waveform.png")));
  });

  it("silence gives a flat waveform and a one-line image", async () => {
    const wav = await generateTone({
      channels: ["0"],
      sampleRate: 16000,
      durationSec: 1,
      out: path.join(dir, "silence.wav"),
    });
    const local = await run(wav, { AUDIO_FORMATS: "ogg" });
    for (const waveform of await parsedWaveforms(local)) {
      assert.equal(waveform.length, Math.ceil(16000 / 256));
      assert.ok(
        waveform
          .channel(0)
          .min_array()
          .every((value) => value === 0),
      );
      assert.ok(
        waveform
          .channel(0)
          .max_array()
          .every((value) => value === 0),
      );
    }
    const { data, info } = await sharp(await readFile(fileOf(local, "_waveform.png")))
      .raw()
      .toBuffer({ resolveWithObject: true });
    let painted = 0;
    for (let y = 0; y < info.height; y++) if (data[(y * info.width + 500) * info.channels] !== 255) painted++;
    assert.equal(painted, 1);
  });

  it("an MP3 with unicode tags and a cover yields the tags and a resized _cover.jpg", async () => {
    const cover = path.join(dir, "cover.png");
    await sharp({ create: { width: 1200, height: 1000, channels: 3, background: "#c03070" } })
      .png()
      .toFile(cover);
    const mp3 = path.join(dir, "tagged.mp3");
    const title = "Ünïcødé — 日本語のタイトル 🎵";
    const tags = [
      "-metadata",
      `title=${title}`,
      "-metadata",
      "artist=Björk & Sigur Rós",
      "-metadata",
      "album=Ærøskøbing Ω",
      "-metadata",
      "date=2021",
      "-metadata",
      "track=3/12",
      "-metadata",
      "genre=Électronique",
    ];
    await execFileAsync("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "aevalsrc=0.3*sin(2*PI*330*t)|0.3*sin(2*PI*330*t):s=44100:d=1.5",
      "-i",
      cover,
      "-map",
      "0:a",
      "-map",
      "1:v",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "128k",
      "-c:v",
      "copy",
      "-disposition:v",
      "attached_pic",
      "-id3v2_version",
      "3",
      ...tags,
      "-y",
      mp3,
    ]);
    const local = await run(mp3);
    assert.deepEqual(local.result.metadata["tags"], {
      title,
      artist: "Björk & Sigur Rós",
      album: "Ærøskøbing Ω",
      year: 2021,
      track: 3,
      trackTotal: 12,
      genre: ["Électronique"],
    });
    assert.equal(local.result.metadata["codec"], "MPEG 1 Layer 3");
    assert.equal(local.result.metadata["lossless"], false);
    const coverJpg = await readFile(fileOf(local, "_cover.jpg"));
    const coverMeta = await sharp(coverJpg).metadata();
    assert.deepEqual([coverMeta.format, coverMeta.width, coverMeta.height], ["jpeg", 800, 667]);
    await writeFile("/tmp/audio-cover.jpg", coverJpg);
    // The transcodes carry the tags over and leave the picture out.
    const mp3Out = await ffprobe(fileOf(local, "_mp3.mp3"));
    assert.equal(mp3Out.format.tags?.["title"], title);
    assert.deepEqual(
      mp3Out.streams.map((stream) => stream.codec_type),
      ["audio"],
    );
    // 128 kbit/s MP3 under the 192 kbit/s target: copied, not re-encoded upward.
    const transcodes = local.result.metadata["transcodes"] as Array<{
      format: string;
      copied: boolean;
      bitrateKbps: number;
    }>;
    const mp3Plan = transcodes.find((entry) => entry.format === "mp3");
    assert.equal(mp3Plan?.copied, true);
    assert.equal(mp3Plan?.bitrateKbps, 128);
    assert.ok(Number(mp3Out.format.bit_rate) < 140_000, `mp3 output at ${mp3Out.format.bit_rate} bit/s`);
  });

  it("a corrupt embedded cover loses the cover, not the job", async () => {
    const bare = path.join(dir, "bare.mp3");
    await execFileAsync("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "aevalsrc=0.3*sin(2*PI*330*t):s=44100:d=1",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "64k",
      "-id3v2_version",
      "0",
      "-write_id3v1",
      "0",
      "-y",
      bare,
    ]);
    // An ID3v2.3 tag by hand: one APIC frame whose "JPEG" is a JPEG marker and junk.
    const picture = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(600, 0x13)]);
    const body = Buffer.concat([Buffer.from("\x00image/jpeg\x00\x03\x00", "latin1"), picture]);
    const frame = Buffer.concat([Buffer.from("APIC", "latin1"), Buffer.alloc(4), Buffer.alloc(2), body]);
    frame.writeUInt32BE(body.length, 4);
    const size = frame.length;
    const syncsafe = Buffer.from([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f]);
    const tagged = path.join(dir, "bad-cover.mp3");
    await writeFile(
      tagged,
      Buffer.concat([Buffer.from("ID3\x03\x00\x00", "latin1"), syncsafe, frame, await readFile(bare)]),
    );
    const local = await run(tagged, { AUDIO_FORMATS: "mp3" });
    assert.ok(!local.result.outputs.some((output) => output.variant === "cover"));
    assert.ok(
      local.steps.some((step) => step.event === "cover-skipped"),
      `steps: ${local.steps.map((step) => step.event).join(",")}`,
    );
    assert.ok(local.result.outputs.some((output) => output.variant === "mp3"));
  });

  it("never inflates: a 64 kbit/s stereo AAC source yields transcodes at no more than 64 kbit/s", async () => {
    const m4a = await generateTone({
      channels: ["0.4*sin(2*PI*500*t)", "0.4*sin(2*PI*700*t)"],
      sampleRate: 44100,
      durationSec: 2,
      out: path.join(dir, "low.m4a"),
      codecArgs: ["-c:a", "aac", "-b:a", "64k"],
    });
    const local = await run(m4a);
    assert.equal((await detectFileType(m4a)).kind, "audio");
    const transcodes = local.result.metadata["transcodes"] as Array<{
      format: string;
      copied: boolean;
      bitrateKbps: number;
    }>;
    for (const transcode of transcodes)
      assert.ok(transcode.bitrateKbps <= 66, `${transcode.format} at ${transcode.bitrateKbps} kbit/s`);
    assert.equal(transcodes.find((entry) => entry.format === "aac")?.copied, true);
    for (const suffix of ["_mp3.mp3", "_ogg.ogg"]) {
      const probe = await ffprobe(fileOf(local, suffix));
      assert.ok(Number(probe.format.bit_rate) < 80_000, `${suffix} at ${probe.format.bit_rate} bit/s`);
    }
  });

  it("an audio-only MP4 is refined to audio, routed to the audio processor and processed", async () => {
    const mp4 = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 48000,
      durationSec: 1,
      out: path.join(dir, "voice.mp4"),
      codecArgs: ["-c:a", "aac", "-b:a", "96k"],
      extraArgs: ["-f", "mp4"],
    });
    const detected = await detectFileType(mp4);
    assert.equal(detected.kind, "video", "magic bytes alone cannot tell");
    const refined = await refineMediaKind(mp4, detected);
    assert.equal(refined.kind, "audio");
    const registry = new ProcessorRegistry(builtinProcessors(testConfig()));
    assert.equal(registry.pick(refined).name, "audio");
    const local = await run(mp4, { AUDIO_FORMATS: "ogg" });
    assert.ok(Math.abs(Number((await ffprobe(fileOf(local, "_ogg.ogg"))).format.duration) - 1) <= 0.1);
  });

  it("an audio-only WebM (Opus) is copied into the Ogg output", async () => {
    const webm = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 48000,
      durationSec: 1,
      out: path.join(dir, "voice.webm"),
      codecArgs: ["-c:a", "libopus", "-b:a", "32k"],
    });
    const refined = await refineMediaKind(webm, await detectFileType(webm));
    assert.equal(refined.kind, "audio");
    const local = await run(webm, { AUDIO_FORMATS: "ogg,mp3" });
    const transcodes = local.result.metadata["transcodes"] as Array<{ format: string; copied: boolean }>;
    assert.deepEqual(
      transcodes.map((entry) => [entry.format, entry.copied]),
      [
        ["ogg", true],
        ["mp3", false],
      ],
    );
    const ogg = await ffprobe(fileOf(local, "_ogg.ogg"));
    assert.equal(ogg.streams[0]!.codec_name, "opus");
    assert.ok(Math.abs(Number(ogg.format.duration) - 1) <= 0.1, `ogg lasts ${ogg.format.duration}`);
  });

  it("a PNG named .mp3 goes to the image processor, and the audio processor refuses it cleanly", async () => {
    const fake = path.join(dir, "song.mp3");
    await sharp({ create: { width: 64, height: 64, channels: 3, background: "#00ff00" } })
      .png()
      .toFile(fake);
    const detected = await detectFileType(fake);
    assert.equal(detected.kind, "image");
    const registry = new ProcessorRegistry(builtinProcessors(testConfig()));
    assert.equal(registry.pick(detected).name, "image");
    assert.equal(createAudioProcessor(testConfig()).accepts(detected), false);
    await assert.rejects(run(fake), (error: unknown) => error instanceof MediaError && error.category === "processing");
  });

  it("an HLS playlist behind an ID3 header is refused, not followed to another local file", async () => {
    const secret = path.join(dir, "secret.ts");
    await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 48000,
      durationSec: 1,
      out: secret,
      codecArgs: ["-c:a", "aac"],
      extraArgs: ["-f", "mpegts"],
    });
    const disguised = path.join(dir, "playlist.mp3");
    await writeFile(
      disguised,
      Buffer.concat([
        Buffer.from("ID3\x03\x00\x00\x00\x00\x00\x00", "latin1"),
        Buffer.from(`#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:${secret}\n#EXT-X-ENDLIST\n`),
      ]),
    );
    assert.equal((await detectFileType(disguised)).kind, "audio", "the ID3 header makes it look like an MP3");
    // The attack is real: ffprobe without a format whitelist skips the ID3 tag, picks the hls
    // demuxer and reads the other file.
    assert.equal((await ffprobe(disguised)).format.format_name, "hls");
    await assert.rejects(
      run(disguised),
      (error: unknown) => error instanceof MediaError && error.category === "processing",
    );
  });

  it("a WAV whose header claims an hour but holds half a second completes on what is there", async () => {
    const real = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 44100,
      durationSec: 0.5,
      out: path.join(dir, "short.wav"),
    });
    const lying = await writeLyingWav(real, path.join(dir, "lying.wav"), 44100 * 2 * 3600);
    const started = performance.now();
    const local = await run(lying);
    assert.ok(performance.now() - started < 30_000);
    assert.equal(local.result.metadata["durationSec"], 0.5);
    for (const waveform of await parsedWaveforms(local)) assert.equal(waveform.length, Math.ceil(22050 / 256));
    for (const suffix of ["_mp3.mp3", "_aac.m4a", "_ogg.ogg"]) {
      assert.ok(
        Math.abs((await decodedSeconds(fileOf(local, suffix))) - 0.5) <= 0.1,
        `${suffix} holds the real half second`,
      );
    }
  });

  it("audio longer than AUDIO_MAX_DURATION is refused before any encode", async () => {
    const wav = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)"],
      sampleRate: 44100,
      durationSec: 30,
      out: path.join(dir, "thirty-seconds.wav"),
    });
    // Measured against the same file processed in full, in the same test: a refusal that came after
    // the encodes would take as long as they do, whatever the machine's load.
    let started = performance.now();
    await run(wav);
    const fullRun = performance.now() - started;
    started = performance.now();
    await assert.rejects(
      run(wav, { AUDIO_MAX_DURATION: "10" }),
      (error: unknown) =>
        error instanceof MediaError && error.code === "audio-too-long" && error.category === "processing",
    );
    const refusal = performance.now() - started;
    assert.ok(refusal < fullRun / 2, `refused in ${refusal.toFixed(0)} ms, a full run took ${fullRun.toFixed(0)} ms`);
  });

  it("garbage after a valid header fails as a processing error", async () => {
    const real = await generateTone({
      channels: ["0"],
      sampleRate: 8000,
      durationSec: 0.2,
      out: path.join(dir, "header-only.wav"),
    });
    const bytes = await readFile(real);
    const broken = path.join(dir, "broken.mp3");
    // An ID3 header followed by noise that is no MPEG frame.
    await writeFile(
      broken,
      Buffer.concat([
        Buffer.from("ID3\x03\x00\x00\x00\x00\x00\x00", "latin1"),
        Buffer.alloc(4096, 0x5a),
        bytes.subarray(0, 10),
      ]),
    );
    await assert.rejects(
      run(broken),
      (error: unknown) => error instanceof MediaError && error.category === "processing",
    );
  });

  for (const [reason, category, code] of [
    ["cancelled", "cancelled", "cancelled"],
    ["timeout", "resource", "processing-timeout"],
  ] as const) {
    it(`a ${reason} abort mid-encode stops every ffmpeg and fails as ${category}`, async () => {
      const long = path.join(dir, "long.wav");
      await generateTone({ channels: [chirp(0.5, 100, 4000, 120)], sampleRate: 44100, durationSec: 120, out: long });
      const controller = new AbortController();
      const config = testConfig();
      const started = performance.now();
      const audio = createAudioProcessor(config);
      let abortedAtPercent: number | undefined;
      // Aborts at the first progress report of the encodes, so ffmpeg processes are running.
      const abortOnProgress: Processor = {
        ...audio,
        process: (ctx) =>
          audio.process({
            ...ctx,
            progress: (percent, step) => {
              ctx.progress(percent, step);
              if (percent > 0 && abortedAtPercent === undefined) {
                abortedAtPercent = percent;
                controller.abort(reason);
              }
            },
          }),
      };
      const running = processLocally(abortOnProgress, long, { config, signal: controller.signal });
      await assert.rejects(
        running,
        (error: unknown) => error instanceof MediaError && error.category === category && error.code === code,
      );
      assert.ok(abortedAtPercent !== undefined && abortedAtPercent < 50, `aborted at ${abortedAtPercent} %`);
      assert.ok(performance.now() - started < 5000, "stopped promptly");
      const { stdout } = await execFileAsync("ps", ["-eo", "args"]);
      assert.ok(
        !stdout.split("\n").some((line) => line.startsWith("ffmpeg") && line.includes(dir)),
        "no ffmpeg of the job is left",
      );
    });
  }
});
