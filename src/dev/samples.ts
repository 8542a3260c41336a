import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";

/**
 * Sample media the demo generates on the spot (nothing binary ships in the repo): a phone
 * photo with EXIF rotation, a transparent PNG, an animated GIF, a small hand-written PDF, and —
 * when the tools are on PATH — an iPhone-style HEIC (libheif's heif-enc), a short video clip and
 * an audio tone (ffmpeg).
 */
export interface Sample {
  file: string;
  kind: "image" | "video" | "audio" | "document";
}

export async function generateSamples(folder: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  const write = async (name: string, kind: Sample["kind"], bytes: Buffer | Promise<Buffer>) => {
    const file = path.join(folder, name);
    await writeFile(file, await bytes);
    samples.push({ file, kind });
  };
  await write("sunset-photo.jpg", "image", photo());
  await write("logo.png", "image", logo());
  await write("spinner.gif", "image", spinner());
  await write(
    "brochure.pdf",
    "document",
    Buffer.from(
      samplePdf(["media-processor demo", "Page two: thumbnails, previews and text.", "Page three: the end."]),
    ),
  );
  if (await hasTool("heif-enc", ["--version"])) {
    const jpeg = path.join(folder, "heic-source.jpg");
    await writeFile(
      jpeg,
      await sharp(await photo())
        .rotate()
        .resize(1200)
        .jpeg({ quality: 92 })
        .toBuffer(),
    );
    const heic = path.join(folder, "iphone-photo.heic");
    await run("heif-enc", ["-q", "80", "-o", heic, jpeg]);
    await rm(jpeg);
    samples.push({ file: heic, kind: "image" });
  }
  if (await hasTool("ffmpeg", ["-version"])) {
    const clip = path.join(folder, "clip.mp4");
    await ffmpeg([
      "-f",
      "lavfi",
      "-i",
      "testsrc2=size=1280x720:rate=25:duration=4",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=4",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-shortest",
      clip,
    ]);
    samples.push({ file: clip, kind: "video" });
    const tone = path.join(folder, "tone.wav");
    await ffmpeg([
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=3",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=660:duration=3",
      "-filter_complex",
      "[0][1]amerge=inputs=2,volume='6*(0.15+0.85*abs(sin(PI*t/1.5)))':eval=frame",
      "-ac",
      "2",
      tone,
    ]);
    samples.push({ file: tone, kind: "audio" });
  }
  return samples;
}

async function photo(): Promise<Buffer> {
  const svg = `<svg width="1600" height="1200" xmlns="http://www.w3.org/2000/svg">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1d2b64"/><stop offset="0.6" stop-color="#f8a13f"/><stop offset="1" stop-color="#c0392b"/></linearGradient></defs>
    <rect width="1600" height="1200" fill="url(#sky)"/><circle cx="800" cy="760" r="220" fill="#ffd56b"/>
    <rect y="900" width="1600" height="300" fill="#2c3e50"/>
    <text x="60" y="120" font-size="80" font-family="sans-serif" fill="#ffffff">media-processor</text></svg>`;
  // Stored turned 90° counter-clockwise with Orientation=6, as a phone held sideways writes it:
  // it looks upright only when the pipeline applies the EXIF orientation.
  const stored = await sharp(Buffer.from(svg)).rotate(270).toBuffer();
  return sharp(stored)
    .jpeg({ quality: 90 })
    .withExif({ IFD0: { Make: "DemoCam", Model: "DemoCam 1" }, IFD2: { DateTimeOriginal: "2025:06:21 20:45:00" } })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

function logo(): Promise<Buffer> {
  const svg = `<svg width="512" height="512" xmlns="http://www.w3.org/2000/svg"><circle cx="256" cy="256" r="200" fill="#8e44ad"/><rect x="176" y="176" width="160" height="160" fill="#f1c40f"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function spinner(): Promise<Buffer> {
  const frames = await Promise.all(
    ["#e74c3c", "#27ae60", "#2980b9", "#f39c12"].map((colour, index) =>
      sharp(
        Buffer.from(
          `<svg width="160" height="160" xmlns="http://www.w3.org/2000/svg"><rect width="160" height="160" fill="#ffffff"/><circle cx="${40 + index * 27}" cy="80" r="30" fill="${colour}"/></svg>`,
        ),
      )
        .png()
        .toBuffer(),
    ),
  );
  return sharp(frames, { join: { animated: true } })
    .gif({ loop: 0, delay: [150, 150, 150, 150] })
    .toBuffer();
}

/** A minimal valid PDF with one line of Helvetica text per page (offsets computed, xref exact). */
export function samplePdf(pages: string[]): string {
  const objects: string[] = [];
  const pageIds = pages.map((_, index) => 4 + index * 2);
  objects.push("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push(`<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(" ")}] /Count ${pages.length} >>`);
  objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  pages.forEach((text, index) => {
    const escaped = text.replace(/[\\()]/g, (c) => `\\${c}`);
    const stream = `BT /F1 24 Tf 72 720 Td (${escaped}) Tj ET`;
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${pageIds[index]! + 1} 0 R >>`,
    );
    objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  });
  let body = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(body.length);
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info << /Title (media-processor demo) /Author (media-processor) >> >>\nstartxref\n${xref}\n%%EOF\n`;
  return body;
}

function hasTool(binary: string, versionArgs: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(binary, versionArgs, { stdio: "ignore" });
    child.once("error", () => resolve(false));
    child.once("exit", (code) => resolve(code === 0));
  });
}

function ffmpeg(args: string[]): Promise<void> {
  return run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...args]);
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${binary} failed: ${stderr}`))));
  });
}
