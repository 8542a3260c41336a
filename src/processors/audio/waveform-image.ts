import sharp from "sharp";
import type { WaveformData } from "./waveform-data.ts";

/**
 * Draws waveform data as a PNG: one band per channel, each column the min..max range of the
 * points it covers, at true amplitude (full scale reaches the band's edges, silence is a
 * one-pixel line), so the image agrees with the numbers in the JSON and .dat files.
 */

export interface WaveformImageOptions {
  width: number;
  height: number;
  /** `#RRGGBB` or `#RRGGBBAA`. */
  color: string;
  backgroundColor: string;
}

type Rgba = [number, number, number, number];

export function parseHexColor(hex: string): Rgba {
  const digits = hex.replace(/^#/, "");
  if (!/^([0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(digits)) throw new RangeError(`invalid colour "${hex}"`);
  const byte = (index: number) => Number.parseInt(digits.slice(index * 2, index * 2 + 2), 16);
  return [byte(0), byte(1), byte(2), digits.length === 8 ? byte(3) : 255];
}

/** The min and max of the points column `x` of `width` covers, for one channel. */
export function columnRange(data: WaveformData, channel: number, x: number, width: number): { min: number; max: number } | undefined {
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

/** Raw RGBA pixels of the waveform image; separate from the PNG encode so tests can read pixels. */
export function drawWaveform(data: WaveformData, options: WaveformImageOptions): Buffer {
  const { width, height } = options;
  const pixels = Buffer.alloc(width * height * 4);
  const background = parseHexColor(options.backgroundColor);
  const foreground = parseHexColor(options.color);
  for (let index = 0; index < width * height; index++) pixels.set(background, index * 4);
  const bandHeight = height / data.channels;
  for (let channel = 0; channel < data.channels; channel++) {
    const top = Math.round(channel * bandHeight);
    const bottom = Math.round((channel + 1) * bandHeight) - 1;
    const centre = (top + bottom) / 2;
    const halfHeight = (bottom - top) / 2;
    const toY = (value: number) => Math.round(centre - (value / 32768) * halfHeight);
    for (let x = 0; x < width; x++) {
      const range = columnRange(data, channel, x, width) ?? { min: 0, max: 0 };
      const yTop = Math.max(top, toY(range.max));
      const yBottom = Math.min(bottom, Math.max(yTop, toY(range.min)));
      for (let y = yTop; y <= yBottom; y++) pixels.set(foreground, (y * width + x) * 4);
    }
  }
  return pixels;
}

export async function renderWaveformPng(data: WaveformData, options: WaveformImageOptions): Promise<Buffer> {
  const pixels = drawWaveform(data, options);
  return sharp(pixels, { raw: { width: options.width, height: options.height, channels: 4 } })
    .png({ compressionLevel: 9, palette: false })
    .toBuffer();
}
