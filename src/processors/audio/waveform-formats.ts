import type { WaveformData } from "./waveform-data.ts";

/**
 * The two file formats of BBC's audiowaveform, byte for byte as it writes them
 * (https://github.com/bbc/audiowaveform/blob/master/doc/DataFormat.md), so that the
 * `waveform-data` library and peaks.js read our output unchanged.
 */

export type WaveformBits = 8 | 16;

/** audiowaveform stores 16-bit values and writes 8-bit ones as value / 256, truncated. */
const to8Bit = (value: number): number => Math.trunc(value / 256);

/** Values as written for `bits`: 8-bit in -128..127, 16-bit unchanged. */
export function scaledValues(data: WaveformData, bits: WaveformBits): Int16Array | Int8Array {
  if (bits === 16) return data.values;
  const scaled = new Int8Array(data.values.length);
  for (let index = 0; index < data.values.length; index++) scaled[index] = to8Bit(data.values[index]!);
  return scaled;
}

const FLAG_8_BIT = 0x1;

/**
 * The binary `.dat` file. Like audiowaveform, version 1 (20-byte header, no channel field) for
 * one channel — readable by every reader, old ones included — and version 2 (24-byte header with
 * a channel count) for split channels. All fields little-endian.
 */
export function encodeWaveformDat(data: WaveformData, bits: WaveformBits): Buffer {
  const version = data.channels === 1 ? 1 : 2;
  const headerBytes = version === 1 ? 20 : 24;
  const bytesPerValue = bits === 8 ? 1 : 2;
  const buffer = Buffer.alloc(headerBytes + data.values.length * bytesPerValue);
  buffer.writeInt32LE(version, 0);
  buffer.writeUInt32LE(bits === 8 ? FLAG_8_BIT : 0, 4);
  buffer.writeInt32LE(data.sampleRate, 8);
  buffer.writeInt32LE(data.samplesPerPixel, 12);
  buffer.writeUInt32LE(data.length, 16);
  if (version === 2) buffer.writeInt32LE(data.channels, 20);
  const values = scaledValues(data, bits);
  for (let index = 0; index < values.length; index++) {
    if (bits === 8) buffer.writeInt8(values[index]!, headerBytes + index);
    else buffer.writeInt16LE(values[index]!, headerBytes + 2 * index);
  }
  return buffer;
}

/** Values per chunk of the JSON text: keeps each string small for hours of audio. */
const JSON_VALUES_PER_CHUNK = 65_536;

/**
 * The JSON file (version 2, the only version audiowaveform writes as JSON), in its field order,
 * as chunks of text: a four-hour file at 256 samples per pixel has millions of values, which
 * should be streamed to disk rather than joined into one string.
 */
export function* waveformJsonChunks(data: WaveformData, bits: WaveformBits): Generator<string> {
  yield `{"version":2,"channels":${data.channels},"sample_rate":${data.sampleRate},"samples_per_pixel":${data.samplesPerPixel},"bits":${bits},"length":${data.length},"data":[`;
  const values = scaledValues(data, bits);
  for (let start = 0; start < values.length; start += JSON_VALUES_PER_CHUNK) {
    const slice = Array.from(values.subarray(start, start + JSON_VALUES_PER_CHUNK));
    yield (start === 0 ? "" : ",") + slice.join(",");
  }
  yield "]}\n";
}

export const encodeWaveformJson = (data: WaveformData, bits: WaveformBits): string =>
  [...waveformJsonChunks(data, bits)].join("");
