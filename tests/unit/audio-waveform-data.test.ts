import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import WaveformData from "waveform-data";
import {
  resolveSamplesPerPixel,
  WaveformAccumulator,
  waveformLength,
} from "../../src/processors/audio/waveform-data.ts";
import { encodeWaveformDat, encodeWaveformJson, scaledValues } from "../../src/processors/audio/waveform-formats.ts";

/** Interleaved s16le PCM from per-channel sample arrays. */
function pcm(channels: number[][]): Buffer {
  const frames = channels[0]!.length;
  const buffer = Buffer.alloc(frames * channels.length * 2);
  for (let frame = 0; frame < frames; frame++) {
    for (const [channel, samples] of channels.entries())
      buffer.writeInt16LE(samples[frame]!, (frame * channels.length + channel) * 2);
  }
  return buffer;
}

/** A handle on V8's collector without a command-line flag, so memory can be measured without garbage noise. */
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

const toArrayBuffer = (buffer: Buffer): ArrayBuffer =>
  buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;

/** A deterministic pseudo-random signal in the full 16-bit range. */
function noise(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return (state % 65536) - 32768;
  });
}

describe("waveform accumulator", () => {
  it("yields ceil(frames / samples per pixel) points with the min and max of each block", () => {
    const samples = noise(1000, 7);
    const accumulator = new WaveformAccumulator({
      inputChannels: 1,
      sampleRate: 8000,
      samplesPerPixel: 64,
      splitChannels: false,
    });
    accumulator.push(pcm([samples]));
    const data = accumulator.finish();
    assert.equal(data.length, waveformLength(1000, 64));
    assert.equal(data.length, 16);
    for (let point = 0; point < data.length; point++) {
      const block = samples.slice(point * 64, (point + 1) * 64);
      assert.equal(data.values[point * 2], Math.min(...block), `min of point ${point}`);
      assert.equal(data.values[point * 2 + 1], Math.max(...block), `max of point ${point}`);
    }
  });

  it("gives the same result whatever the chunk boundaries, odd byte offsets included", () => {
    const bytes = pcm([noise(5000, 1), noise(5000, 2)]);
    const whole = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 44100,
      samplesPerPixel: 100,
      splitChannels: true,
    });
    whole.push(bytes);
    const chunked = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 44100,
      samplesPerPixel: 100,
      splitChannels: true,
    });
    for (let offset = 0, size = 1; offset < bytes.length; offset += size, size = ((size * 7 + 3) % 97) + 1) {
      chunked.push(bytes.subarray(offset, offset + size));
    }
    assert.deepEqual(chunked.finish(), whole.finish());
  });

  it("mixes channels down like audiowaveform: the sum divided by the count, truncated toward zero", () => {
    const accumulator = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 8000,
      samplesPerPixel: 2,
      splitChannels: false,
    });
    accumulator.push(
      pcm([
        [-3, 3],
        [0, 0],
      ]),
    );
    const data = accumulator.finish();
    assert.equal(data.channels, 1);
    assert.deepEqual([...data.values], [-1, 1]);
  });

  it("keeps channels apart when split, interleaved per point", () => {
    const accumulator = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 8000,
      samplesPerPixel: 2,
      splitChannels: true,
    });
    accumulator.push(
      pcm([
        [100, -100, 5, 6],
        [-2000, 2000, 7, 8],
      ]),
    );
    const data = accumulator.finish();
    assert.equal(data.channels, 2);
    assert.equal(data.length, 2);
    assert.deepEqual([...data.values], [-100, 100, -2000, 2000, 5, 6, 7, 8]);
  });

  it("yields no points for no audio and drops a trailing partial frame", () => {
    const accumulator = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 8000,
      samplesPerPixel: 4,
      splitChannels: false,
    });
    accumulator.push(Buffer.from([1, 2, 3]));
    const data = accumulator.finish();
    assert.equal(data.length, 0);
    assert.equal(accumulator.framesSeen, 0);
  });

  it("derives samples per pixel from pixels per second as audiowaveform does, never under 2", () => {
    assert.equal(resolveSamplesPerPixel(44100, { samplesPerPixel: 256, pixelsPerSecond: 0 }), 256);
    assert.equal(resolveSamplesPerPixel(44100, { samplesPerPixel: 256, pixelsPerSecond: 100 }), 441);
    assert.equal(resolveSamplesPerPixel(48000, { samplesPerPixel: 256, pixelsPerSecond: 7 }), 6857);
    assert.equal(resolveSamplesPerPixel(8000, { samplesPerPixel: 256, pixelsPerSecond: 48000 }), 2);
  });

  it("holds a summary, not the audio: 20 minutes streamed through keeps memory flat", async () => {
    const sampleRate = 44100;
    const chunkFrames = 16384;
    const totalFrames = sampleRate * 60 * 20;
    const chunk = pcm([Array.from({ length: chunkFrames }, (_, index) => Math.round(20000 * Math.sin(index / 10)))]);
    const accumulator = new WaveformAccumulator({
      inputChannels: 1,
      sampleRate,
      samplesPerPixel: 256,
      splitChannels: false,
    });
    let sent = 0;
    const source = Readable.from(
      (function* () {
        while (sent < totalFrames) {
          sent += chunkFrames;
          // A fresh copy per chunk, like a pipe delivers: the accumulator must not keep them.
          yield Buffer.from(chunk);
        }
      })(),
    );
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let received = 0;
    for await (const piece of source) {
      accumulator.push(piece as Buffer);
      if (++received % 64 === 0) {
        collectGarbage();
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
      }
    }
    const data = accumulator.finish();
    assert.equal(data.length, Math.ceil(sent / 256));
    const pcmBytes = sent * 2;
    // ~106 MB of audio passed through; what stays is the summary (1/256 of it, ~0.4 MB) and the
    // chunks in flight (2 MB between collections).
    assert.ok(
      peak < 8e6,
      `array buffers grew by ${(peak / 1e6).toFixed(1)} MB for ${(pcmBytes / 1e6).toFixed(0)} MB of PCM`,
    );
  });
});

describe("audiowaveform file formats", () => {
  const sine = Array.from({ length: 3000 }, (_, index) => Math.round(30000 * Math.sin(index / 20)));

  function mono() {
    const accumulator = new WaveformAccumulator({
      inputChannels: 1,
      sampleRate: 22050,
      samplesPerPixel: 256,
      splitChannels: false,
    });
    accumulator.push(pcm([sine]));
    return accumulator.finish();
  }

  it("writes 8-bit values as value / 256 truncated, over the whole 16-bit range", () => {
    const data = {
      sampleRate: 8000,
      samplesPerPixel: 2,
      channels: 1,
      length: 3,
      values: Int16Array.from([-32768, 32767, -255, 255, -256, 511]),
    };
    assert.deepEqual([...scaledValues(data, 8)], [-128, 127, 0, 0, -1, 1]);
    assert.deepEqual([...scaledValues(data, 16)], [-32768, 32767, -255, 255, -256, 511]);
  });

  it("a one-channel .dat has audiowaveform's version 1 header, byte for byte", () => {
    const data = mono();
    const dat = encodeWaveformDat(data, 8);
    assert.equal(dat.length, 20 + data.length * 2);
    assert.deepEqual(
      [dat.readInt32LE(0), dat.readUInt32LE(4), dat.readInt32LE(8), dat.readInt32LE(12), dat.readUInt32LE(16)],
      [1, 1, 22050, 256, 12],
    );
    assert.equal(dat.readInt8(20), Math.trunc(data.values[0]! / 256));
  });

  it("8-bit .dat and JSON parse with waveform-data and agree with the computed points", () => {
    const data = mono();
    for (const parsed of [
      WaveformData.create(toArrayBuffer(encodeWaveformDat(data, 8))),
      WaveformData.create(JSON.parse(encodeWaveformJson(data, 8))),
    ]) {
      assert.equal(parsed.channels, 1);
      assert.equal(parsed.bits, 8);
      assert.equal(parsed.sample_rate, 22050);
      assert.equal(parsed.scale, 256);
      assert.equal(parsed.length, Math.ceil(3000 / 256));
      for (let point = 0; point < parsed.length; point++) {
        assert.equal(parsed.channel(0).min_sample(point), Math.trunc(data.values[point * 2]! / 256));
        assert.equal(parsed.channel(0).max_sample(point), Math.trunc(data.values[point * 2 + 1]! / 256));
      }
    }
  });

  it("split channels write a version 2 .dat with a channel count, readable per channel", () => {
    const accumulator = new WaveformAccumulator({
      inputChannels: 2,
      sampleRate: 48000,
      samplesPerPixel: 100,
      splitChannels: true,
    });
    accumulator.push(pcm([sine, sine.map((value) => -Math.trunc(value / 2))]));
    const data = accumulator.finish();
    const dat = encodeWaveformDat(data, 16);
    assert.deepEqual([dat.readInt32LE(0), dat.readUInt32LE(4), dat.readInt32LE(20)], [2, 0, 2]);
    const parsed = WaveformData.create(toArrayBuffer(dat));
    assert.equal(parsed.channels, 2);
    assert.equal(parsed.bits, 16);
    assert.equal(parsed.length, 30);
    assert.equal(parsed.channel(0).max_sample(0), data.values[1]);
    assert.equal(parsed.channel(1).min_sample(0), data.values[2]);
    assert.equal(parsed.channel(1).max_sample(0), data.values[3]);
  });

  it("JSON has audiowaveform's version 2 fields in its order", () => {
    const json = encodeWaveformJson(mono(), 8);
    assert.deepEqual(Object.keys(JSON.parse(json)), [
      "version",
      "channels",
      "sample_rate",
      "samples_per_pixel",
      "bits",
      "length",
      "data",
    ]);
    assert.match(
      json,
      /^\{"version":2,"channels":1,"sample_rate":22050,"samples_per_pixel":256,"bits":8,"length":12,"data":\[-?\d/,
    );
  });

  it("JSON of no audio is still valid and parses", () => {
    const empty = { sampleRate: 44100, samplesPerPixel: 256, channels: 1, length: 0, values: new Int16Array(0) };
    const parsed = WaveformData.create(JSON.parse(encodeWaveformJson(empty, 8)));
    assert.equal(parsed.length, 0);
  });
});
