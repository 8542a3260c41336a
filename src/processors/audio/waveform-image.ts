import sharp from "sharp";
import type { WaveformData } from "./waveform-data.ts";

/**
 * Draws waveform data as a PNG: one band per channel, each column the min..max range of the
 * points it covers, scaled by `amplitudeScale` (silence stays a one-pixel line). The data files
 * keep the true values; the picture is scaled to the recording's peak like audiowaveform's
 * `--amplitude-scale auto`, so a voice memo peaking at −43 dBFS is a waveform, not a flat line.
 */

export interface WaveformImageOptions {
  width: number;
  height: number;
  /** `#RRGGBB` or `#RRGGBBAA`. */
  color: string;
  backgroundColor: string;
  /** Multiplies every value before drawing (see {@link autoAmplitudeScale}); default 1, true amplitude. */
  amplitudeScale?: number;
}

/** The largest absolute 16-bit value in the data: the recording's peak as the waveform saw it. */
export function waveformPeak(data: WaveformData): number {
  let peak = 0;
  for (const value of data.values) peak = Math.max(peak, Math.abs(value));
  return Math.min(32767, peak);
}

/** audiowaveform's `--amplitude-scale auto`: full scale over the peak, so the loudest point reaches the band's edge; 1 for silence. */
export const autoAmplitudeScale = (data: WaveformData): number => {
  const peak = waveformPeak(data);
  return peak > 0 ? 32767 / peak : 1;
};

/** A 16-bit peak in dBFS (full scale 32767 = 0 dB), to 0.1 dB; undefined for digital silence. */
export const peakDbfs = (peak: number): number | undefined =>
  peak > 0 ? Math.round(200 * Math.log10(peak / 32767)) / 10 : undefined;

type Rgba = [number, number, number, number];

export function parseHexColor(hex: string): Rgba {
  const digits = hex.replace(/^#/, "");
  if (!/^([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(digits)) throw new RangeError(`invalid colour "${hex}"`);
  const byte = (index: number) => Number.parseInt(digits.slice(index * 2, index * 2 + 2), 16);
  return [byte(0), byte(1), byte(2), digits.length === 8 ? byte(3) : 255];
}

/** The min and max of the points column `x` of `width` covers, for one channel. */
export function columnRange(
  data: WaveformData,
  channel: number,
  x: number,
  width: number,
): { min: number; max: number } | undefined {
  if (data.length === 0) return undefined;
  const start = Math.floor((x * data.length) / width);
  const end = Math.max(start + 1, Math.floor(((x + 1) * data.length) / width));
  let min = 32767;
  let max = -32768;
  for (let point = start; point < end && point < data.length; point++) {
    const offset = (point * data.channels + channel) * 2;
    min = Math.min(min, data.values[offset]!);
    max = Math.max(max, data.values[offset + 1]!);
  }
  return { min, max };
}

/** One RGBA pixel as the 32-bit word that holds its four bytes in memory order (whatever the platform's endianness). */
function pixelWord(rgba: Rgba): number {
  return new Uint32Array(Uint8Array.from(rgba).buffer)[0]!;
}

/**
 * Raw RGBA pixels of the waveform image; separate from the PNG encode so tests can read pixels.
 * Pixels are written as whole 32-bit words (a fill for the background, one store per foreground
 * pixel): setting four bytes at a time from an array cost ~200 ms per 1800×280 image, most of an
 * audio job's own CPU beside its ffmpeg processes (issue 20).
 */
export function drawWaveform(data: WaveformData, options: WaveformImageOptions): Buffer {
  const { width, height } = options;
  const words = new Uint32Array(width * height).fill(pixelWord(parseHexColor(options.backgroundColor)));
  const foreground = pixelWord(parseHexColor(options.color));
  const bandHeight = height / data.channels;
  const scale = options.amplitudeScale ?? 1;
  for (let channel = 0; channel < data.channels; channel++) {
    const top = Math.round(channel * bandHeight);
    const bottom = Math.round((channel + 1) * bandHeight) - 1;
    const centre = (top + bottom) / 2;
    const halfHeight = (bottom - top) / 2;
    const toY = (value: number) =>
      Math.round(centre - (Math.max(-32768, Math.min(32767, value * scale)) / 32768) * halfHeight);
    for (let x = 0; x < width; x++) {
      const range = columnRange(data, channel, x, width) ?? { min: 0, max: 0 };
      const yTop = Math.max(top, toY(range.max));
      const yBottom = Math.min(bottom, Math.max(yTop, toY(range.min)));
      for (let y = yTop; y <= yBottom; y++) words[y * width + x] = foreground;
    }
  }
  return Buffer.from(words.buffer, words.byteOffset, words.byteLength);
}

export async function renderWaveformPng(data: WaveformData, options: WaveformImageOptions): Promise<Buffer> {
  const pixels = drawWaveform(data, options);
  return sharp(pixels, { raw: { width: options.width, height: options.height, channels: 4 } })
    .png({ compressionLevel: 9, palette: false })
    .toBuffer();
}
