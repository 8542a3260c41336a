import { access, mkdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { PDFDocument, rgb, StandardFonts } from "pdf-lib";
import sharp from "sharp";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";

/**
 * Benchmark inputs, generated on the spot (nothing large is committed) and cached between runs
 * under a folder of the temp dir: file names carry every parameter, so a changed setting makes
 * a new file instead of reusing a stale one. Each file is written under a temporary name and
 * renamed, so an interrupted generation never leaves a half file behind.
 */

export interface BenchInput {
  file: string;
  /** Seconds of media, for realtime factors (video, audio). */
  durationSec?: number;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function cached(file: string, make: (temporary: string) => Promise<void>): Promise<string> {
  if (await exists(file)) return file;
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.partial${path.extname(file)}`;
  await make(temporary);
  await rename(temporary, file);
  return file;
}

/** Gaussian grain, made once per size and reused: sharp's noise generator is the slow part. */
const grainCache = new Map<string, Promise<Buffer>>();
export function grain(width: number, height: number, sigma: number): Promise<Buffer> {
  const id = `${width}x${height}x${sigma}`;
  let made = grainCache.get(id);
  if (!made) {
    made = sharp({
      create: { width, height, channels: 3, background: "#808080", noise: { type: "gaussian", mean: 128, sigma } },
    })
      .raw()
      .toBuffer();
    grainCache.set(id, made);
  }
  return made;
}

/** Adds grain to an RGB(A) raw buffer in place, scaled by `amount`. */
export function addGrain(pixels: Buffer, channels: number, noise: Buffer, amount: number): void {
  for (let pixel = 0, sample = 0; sample < noise.length; pixel += channels, sample += 3) {
    for (let channel = 0; channel < 3; channel += 1) {
      const value = pixels[pixel + channel]! + (noise[sample + channel]! - 128) * amount;
      pixels[pixel + channel] = Math.min(255, Math.max(0, value));
    }
  }
}

/** Overlapping soft shapes on a gradient: smooth areas and edges, like a photo's content. */
export function sceneSvg(width: number, height: number, seed: number, alpha: boolean): string {
  const shapes = Array.from({ length: 40 }, (_, index) => {
    const i = index + seed * 41;
    const x = (i * 977) % width;
    const y = (i * 613) % height;
    const size = Math.round(Math.min(width, height) * (0.05 + ((i * 131) % 100) / 700));
    const colour = `hsl(${(i * 37) % 360},60%,50%)`;
    return index % 2 === 0
      ? `<circle cx="${x}" cy="${y}" r="${size}" fill="${colour}" fill-opacity="0.5"/>`
      : `<rect x="${x}" y="${y}" width="${size * 1.5}" height="${size}" fill="${colour}" fill-opacity="0.7"/>`;
  }).join("");
  const background = alpha
    ? `<defs><radialGradient id="g"><stop offset="0" stop-color="#e74c3c" stop-opacity="1"/><stop offset="0.7" stop-color="#8e44ad" stop-opacity="0.6"/><stop offset="1" stop-color="#2980b9" stop-opacity="0"/></radialGradient></defs>`
    : `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1d2b64"/><stop offset="0.5" stop-color="#f8a13f"/><stop offset="1" stop-color="#2c3e50"/></linearGradient></defs>`;
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${background}<rect width="${width}" height="${height}" fill="url(#g)"/>${shapes}</svg>`;
}

/** Camera-like JPEGs (quality 90, grain, ~5 MB at 24 MP), each different. */
export async function photoJpegs(dir: string, count: number, width: number, height: number): Promise<BenchInput[]> {
  const files: BenchInput[] = [];
  for (let index = 0; index < count; index += 1) {
    const file = await cached(path.join(dir, `photo-${width}x${height}-${index}.jpg`), async (temporary) => {
      const { data, info } = await sharp(Buffer.from(sceneSvg(width, height, index, false)))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      addGrain(data, info.channels, await grain(width, height, 20), 0.6);
      await sharp(data, { raw: { width, height, channels: 3 } })
        .blur(0.6)
        .jpeg({ quality: 90 })
        .toFile(temporary);
    });
    files.push({ file });
  }
  return files;
}

/** PNGs with an alpha gradient and light grain (a cut-out render or a large graphic). */
export async function alphaPngs(dir: string, count: number, width: number, height: number): Promise<BenchInput[]> {
  const files: BenchInput[] = [];
  for (let index = 0; index < count; index += 1) {
    const file = await cached(path.join(dir, `alpha-${width}x${height}-${index}.png`), async (temporary) => {
      const { data, info } = await sharp(Buffer.from(sceneSvg(width, height, index, true)))
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      addGrain(data, info.channels, await grain(width, height, 3), 1);
      await sharp(data, { raw: { width, height, channels: 4 } })
        .png({ compressionLevel: 6, adaptiveFiltering: true })
        .toFile(temporary);
    });
    files.push({ file });
  }
  return files;
}

/**
 * A 1080p30 clip with sound at a phone camera's bitrate (16 Mbit/s H.264 + AAC): testsrc2 with
 * temporal grain, so the encoder has real work in every frame. `size` makes smaller clips, and
 * `variant` different ones of the same size (the fairness area's flood of distinct uploads).
 */
export async function videoClip(
  dir: string,
  durationSec: number,
  size: { width: number; height: number; variant?: number } = { width: 1920, height: 1080 },
): Promise<BenchInput> {
  const { width, height, variant = 0 } = size;
  const name =
    width === 1920 && height === 1080 && variant === 0
      ? `clip-1080p30-${durationSec}s.mp4`
      : `clip-${width}x${height}p30-${durationSec}s-${variant}.mp4`;
  const file = await cached(path.join(dir, name), async (temporary) => {
    await runFfmpeg({
      args: [
        "-f",
        "lavfi",
        "-i",
        // The variant shifts the pattern so every clip of a set is its own upload (own ETag).
        `testsrc2=s=${width}x${height}:r=30:d=${durationSec},noise=alls=12:allf=t${variant > 0 ? `,hue=h=${variant * 37}` : ""}`,
        "-f",
        "lavfi",
        "-i",
        `sine=frequency=440:sample_rate=48000:d=${durationSec}`,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-b:v",
        "16M",
        "-maxrate",
        "20M",
        "-bufsize",
        "32M",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        "-shortest",
        "-movflags",
        "+faststart",
        "-y",
        temporary,
      ],
      trustedInputs: true,
    });
  });
  return { file, durationSec };
}

/** Stereo 44.1 kHz WAV: two detuned chords with a tremolo, and some noise (music-like spectrum). */
export async function audioTracks(dir: string, count: number, durationSec: number): Promise<BenchInput[]> {
  const files: BenchInput[] = [];
  for (let index = 0; index < count; index += 1) {
    const base = 220 + index * 30;
    const file = await cached(path.join(dir, `track-${durationSec}s-${index}.wav`), async (temporary) => {
      await runFfmpeg({
        args: [
          "-f",
          "lavfi",
          "-i",
          `sine=frequency=${base}:sample_rate=44100:d=${durationSec}`,
          "-f",
          "lavfi",
          "-i",
          `sine=frequency=${base * 1.25}:sample_rate=44100:d=${durationSec}`,
          "-f",
          "lavfi",
          "-i",
          `sine=frequency=${base * 1.5 + 1}:sample_rate=44100:d=${durationSec}`,
          "-f",
          "lavfi",
          "-i",
          `anoisesrc=color=pink:amplitude=0.08:sample_rate=44100:d=${durationSec}`,
          "-filter_complex",
          "[0][1][2][3]amix=inputs=4:normalize=0,tremolo=f=3:d=0.5,volume=0.6,aformat=channel_layouts=stereo,aecho=0.8:0.6:120:0.3",
          "-c:a",
          "pcm_s16le",
          "-y",
          temporary,
        ],
        trustedInputs: true,
      });
    });
    files.push({ file, durationSec });
  }
  return files;
}

const WORDS =
  "media pipeline worker queue render thumbnail preview bucket object transcode ladder segment waveform document page text extract encode decode upload download timeline latency throughput ratio".split(
    " ",
  );

/** A report-like PDF: text on every page, a vector chart, and a photo on every fifth page. */
export async function reportPdfs(dir: string, count: number, pages: number): Promise<BenchInput[]> {
  const files: BenchInput[] = [];
  for (let index = 0; index < count; index += 1) {
    const file = await cached(path.join(dir, `report-${pages}p-${index}.pdf`), async (temporary) => {
      const pdf = await PDFDocument.create();
      const font = await pdf.embedFont(StandardFonts.Helvetica);
      const bold = await pdf.embedFont(StandardFonts.HelveticaBold);
      const photo = await pdf.embedJpg(
        await sharp(Buffer.from(sceneSvg(1600, 1067, index, false)))
          .jpeg({ quality: 85 })
          .toBuffer(),
      );
      for (let pageNumber = 1; pageNumber <= pages; pageNumber += 1) {
        const page = pdf.addPage([595, 842]);
        page.drawText(`Report ${index + 1} — page ${pageNumber}`, { x: 50, y: 790, size: 20, font: bold });
        for (let line = 0; line < 38; line += 1) {
          const text = Array.from(
            { length: 12 },
            (_, word) => WORDS[(pageNumber * 7 + line * 3 + word * 5 + index) % WORDS.length],
          ).join(" ");
          page.drawText(text, { x: 50, y: 760 - line * 14, size: 10, font });
        }
        if (pageNumber % 5 === 1) {
          page.drawImage(photo, { x: 50, y: 40, width: 495, height: 190 });
        } else {
          for (let bar = 0; bar < 12; bar += 1) {
            const height = 20 + ((bar * 37 + pageNumber * 11) % 150);
            page.drawRectangle({
              x: 60 + bar * 40,
              y: 50,
              width: 28,
              height,
              color: rgb((bar % 3) / 3, 0.4, 0.7),
              borderColor: rgb(0, 0, 0),
              borderWidth: 0.5,
            });
          }
        }
      }
      await writeFile(temporary, await pdf.save());
    });
    files.push({ file });
  }
  return files;
}
