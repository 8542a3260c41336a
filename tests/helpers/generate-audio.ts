import { readFile, writeFile } from "node:fs/promises";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";

/**
 * Test audio made on the fly with ffmpeg's `aevalsrc` (exact expressions, so amplitudes are
 * known); nothing binary is committed.
 */
export interface ToneOptions {
  /** One aevalsrc expression per channel, in [-1, 1], e.g. `0.5*sin(2*PI*440*t)`. */
  channels: string[];
  sampleRate: number;
  durationSec: number;
  out: string;
  /** Encoder arguments; default 16-bit PCM (a WAV whose samples the test can read back exactly). */
  codecArgs?: string[];
  /** Extra output arguments (tags, container). */
  extraArgs?: string[];
}

export async function generateTone(options: ToneOptions): Promise<string> {
  const source = `aevalsrc=${options.channels.join("|")}:s=${options.sampleRate}:d=${options.durationSec}`;
  await runFfmpeg({
    args: [
      "-f",
      "lavfi",
      "-i",
      source,
      ...(options.codecArgs ?? ["-c:a", "pcm_s16le"]),
      ...(options.extraArgs ?? []),
      "-y",
      options.out,
    ],
    trustedInputs: true,
  });
  return options.out;
}

/** `0.8` amplitude chirp from `from` Hz to `to` Hz over `durationSec`. */
export const chirp = (amplitude: number, from: number, to: number, durationSec: number) =>
  `${amplitude}*sin(2*PI*(${from}*t+(${to}-${from})*t*t/(2*${durationSec})))`;

export interface WavPcm {
  sampleRate: number;
  channels: number;
  /** Interleaved samples. */
  samples: Int16Array;
}

/** Reads a 16-bit PCM WAV by walking its chunks (ffmpeg adds a LIST chunk before `data`). */
export async function readWavPcm(filePath: string): Promise<WavPcm> {
  const bytes = await readFile(filePath);
  let offset = 12;
  let sampleRate = 0;
  let channels = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString("latin1", offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === "fmt ") {
      channels = bytes.readUInt16LE(offset + 10);
      sampleRate = bytes.readUInt32LE(offset + 12);
    }
    if (id === "data") {
      const end = Math.min(bytes.length, offset + 8 + size);
      const data = Buffer.from(bytes.subarray(offset + 8, end));
      return {
        sampleRate,
        channels,
        samples: new Int16Array(data.buffer, data.byteOffset, Math.floor(data.length / 2)),
      };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`${filePath} has no data chunk`);
}

/**
 * A WAV whose header claims `claimedDataBytes` of audio but which holds only the samples of
 * `realWav` — a truncated upload, or a hostile one.
 */
export async function writeLyingWav(realWav: string, out: string, claimedDataBytes: number): Promise<string> {
  const pcm = await readWavPcm(realWav);
  const data = Buffer.from(pcm.samples.buffer, pcm.samples.byteOffset, pcm.samples.byteLength);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(Math.min(0xffffffff, claimedDataBytes + 36), 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(pcm.channels, 22);
  header.writeUInt32LE(pcm.sampleRate, 24);
  header.writeUInt32LE(pcm.sampleRate * pcm.channels * 2, 28);
  header.writeUInt16LE(pcm.channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(claimedDataBytes, 40);
  await writeFile(out, Buffer.concat([header, data]));
  return out;
}

/**
 * The waveform audiowaveform computes, done the plain way in the test (not with the code under
 * test): per block of `samplesPerPixel` frames the min and max of the mono mix (sum / channels,
 * truncated) or of each channel, as 16-bit values.
 */
export function referenceWaveform(pcm: WavPcm, samplesPerPixel: number, split: boolean): number[][] {
  const frames = pcm.samples.length / pcm.channels;
  const outputChannels = split ? pcm.channels : 1;
  const points: number[][] = [];
  for (let start = 0; start < frames; start += samplesPerPixel) {
    const point: number[] = [];
    for (let channel = 0; channel < outputChannels; channel++) {
      let min = Infinity;
      let max = -Infinity;
      for (let frame = start; frame < Math.min(frames, start + samplesPerPixel); frame++) {
        let value: number;
        if (split) value = pcm.samples[frame * pcm.channels + channel]!;
        else {
          let sum = 0;
          for (let c = 0; c < pcm.channels; c++) sum += pcm.samples[frame * pcm.channels + c]!;
          value = Math.trunc(sum / pcm.channels);
        }
        min = Math.min(min, value);
        max = Math.max(max, value);
      }
      point.push(min, max);
    }
    points.push(point);
  }
  return points;
}
