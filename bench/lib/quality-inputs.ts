import path from "node:path";
import sharp from "sharp";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { addGrain, cached, grain, sceneSvg } from "./inputs.ts";

/**
 * Inputs of the quality area, each of a different character, generated on the spot and cached
 * like the other benchmark inputs (nothing is committed). Stills are lossless PNGs, so the
 * reference is exactly the pixels every encoder gets; clips are 720p H.264 at a constant 8 Mbit/s (a phone camera's rate, well above any rung).
 */

export interface QualityImageInput {
  name: string;
  description: string;
  file: string;
}

export interface QualityClipInput {
  name: string;
  description: string;
  file: string;
  durationSec: number;
}

/** Photo-like: overlapping soft shapes on a gradient, camera grain, a slight blur (lens). */
async function photo(file: string, width: number, height: number): Promise<void> {
  const { data, info } = await sharp(Buffer.from(sceneSvg(width, height, 3, false)))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Grain of σ ≈ 6 levels: a daylight phone photo's sensor noise (the images area's σ ≈ 12 is a high-ISO shot).
  addGrain(data, info.channels, await grain(width, height, 20), 0.3);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .blur(0.5)
    .png({ compressionLevel: 3 })
    .toFile(file);
}

/** Flat graphics with text: a poster/slide with solid fills, hard edges, large and small type. */
function graphicsSvg(width: number, height: number): string {
  const scale = width / 1600;
  const s = (value: number) => Math.round(value * scale);
  const bars = Array.from(
    { length: 8 },
    (_, index) =>
      `<rect x="${s(820 + index * 90)}" y="${s(900 - 60 - index * 70)}" width="${s(60)}" height="${s(60 + index * 70)}" fill="${["#e63946", "#f1a208", "#2a9d8f", "#264653"][index % 4]}"/>`,
  ).join("");
  const lines = Array.from(
    { length: 9 },
    (_, index) =>
      `<text x="${s(90)}" y="${s(520 + index * 48)}" font-family="DejaVu Sans" font-size="${s(30)}" fill="#1d3557">Quarterly figure ${index + 1}: throughput up ${12 + index * 3} %, latency down</text>`,
  ).join("");
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <rect width="${width}" height="${height}" fill="#f1faee"/>
    <rect width="${width}" height="${s(300)}" fill="#1d3557"/>
    <text x="${s(90)}" y="${s(190)}" font-family="DejaVu Sans" font-weight="bold" font-size="${s(110)}" fill="#f1faee">Media Report 2026</text>
    <circle cx="${s(1380)}" cy="${s(150)}" r="${s(100)}" fill="#e63946"/>
    <polygon points="${s(1300)},${s(420)} ${s(1500)},${s(420)} ${s(1400)},${s(260)}" fill="#f1a208"/>
    ${lines}${bars}
    <line x1="${s(800)}" y1="${s(900)}" x2="${s(1550)}" y2="${s(900)}" stroke="#264653" stroke-width="${Math.max(1, s(3))}"/>
  </svg>`;
}

/** A screenshot-like UI: window chrome, sidebar, small text, 1 px borders, buttons, an avatar. */
function screenshotSvg(width: number, height: number): string {
  const scale = width / 1600;
  const s = (value: number) => Math.round(value * scale);
  const sidebar = Array.from(
    { length: 14 },
    (_, index) =>
      `<text x="${s(24)}" y="${s(110 + index * 34)}" font-family="DejaVu Sans" font-size="${s(15)}" fill="${index === 3 ? "#0b57d0" : "#3c4043"}">Folder ${index + 1} · ${["Inbox", "Drafts", "Sent", "Media", "Archive"][index % 5]}</text>`,
  ).join("");
  const rows = Array.from({ length: 16 }, (_, index) => {
    const y = s(100 + index * 62);
    return `<rect x="${s(300)}" y="${y}" width="${s(1270)}" height="${s(58)}" fill="${index % 2 ? "#ffffff" : "#f8f9fa"}" stroke="#dadce0" stroke-width="1"/>
      <circle cx="${s(330)}" cy="${y + s(29)}" r="${s(16)}" fill="hsl(${index * 47},55%,55%)"/>
      <text x="${s(360)}" y="${y + s(25)}" font-family="DejaVu Sans" font-weight="bold" font-size="${s(15)}" fill="#202124">Upload ${1000 + index} processed</text>
      <text x="${s(360)}" y="${y + s(46)}" font-family="DejaVu Sans" font-size="${s(13)}" fill="#5f6368">thumb_small, thumb_medium, webp, avif · ${((index * 37) % 900) + 100} KiB · ${index + 2} min ago</text>
      <rect x="${s(1440)}" y="${y + s(14)}" width="${s(110)}" height="${s(30)}" rx="${s(6)}" fill="#0b57d0"/>
      <text x="${s(1458)}" y="${y + s(35)}" font-family="DejaVu Sans" font-size="${s(14)}" fill="#ffffff">Open</text>`;
  }).join("");
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <rect width="${width}" height="${height}" fill="#ffffff"/>
    <rect width="${width}" height="${s(64)}" fill="#f1f3f4" stroke="#dadce0" stroke-width="1"/>
    <circle cx="${s(24)}" cy="${s(32)}" r="${s(8)}" fill="#ff5f57"/><circle cx="${s(50)}" cy="${s(32)}" r="${s(8)}" fill="#febc2e"/><circle cx="${s(76)}" cy="${s(32)}" r="${s(8)}" fill="#28c840"/>
    <rect x="${s(400)}" y="${s(14)}" width="${s(800)}" height="${s(36)}" rx="${s(18)}" fill="#ffffff" stroke="#dadce0" stroke-width="1"/>
    <text x="${s(424)}" y="${s(39)}" font-family="DejaVu Sans" font-size="${s(16)}" fill="#5f6368">Search jobs, tenants, keys…</text>
    <rect y="${s(64)}" width="${s(280)}" height="${height}" fill="#f8f9fa" stroke="#dadce0" stroke-width="1"/>
    ${sidebar}${rows}
  </svg>`;
}

/** Portrait-like: a face stand-in (skin gradient, hair, eyes, lips) before a blurred background. */
async function portrait(file: string, width: number, height: number): Promise<void> {
  const cx = width / 2;
  const cy = height * 0.45;
  const r = Math.min(width, height) * 0.26;
  const background = await sharp(Buffer.from(sceneSvg(width, height, 7, false)))
    .removeAlpha()
    .blur(Math.max(1, width / 80))
    .png()
    .toBuffer();
  const face = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <defs>
      <radialGradient id="skin" cx="0.42" cy="0.38" r="0.75"><stop offset="0" stop-color="#f6d2b8"/><stop offset="0.6" stop-color="#d9a07e"/><stop offset="1" stop-color="#8d5a3f"/></radialGradient>
      <radialGradient id="iris"><stop offset="0" stop-color="#111"/><stop offset="0.45" stop-color="#3b5d7a"/><stop offset="1" stop-color="#1c2b38"/></radialGradient>
      <linearGradient id="shirt" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#33415c"/><stop offset="1" stop-color="#0d1b2a"/></linearGradient>
    </defs>
    <ellipse cx="${cx}" cy="${height * 1.02}" rx="${r * 2.1}" ry="${r * 1.25}" fill="url(#shirt)"/>
    <rect x="${cx - r * 0.32}" y="${cy + r * 0.8}" width="${r * 0.64}" height="${r * 0.7}" fill="#c68d6b"/>
    <ellipse cx="${cx}" cy="${cy - r * 0.2}" rx="${r * 1.08}" ry="${r * 1.2}" fill="#3a2418"/>
    <ellipse cx="${cx}" cy="${cy}" rx="${r * 0.86}" ry="${r * 1.1}" fill="url(#skin)"/>
    <ellipse cx="${cx - r * 0.33}" cy="${cy - r * 0.12}" rx="${r * 0.17}" ry="${r * 0.09}" fill="#fbf7f2"/>
    <ellipse cx="${cx + r * 0.33}" cy="${cy - r * 0.12}" rx="${r * 0.17}" ry="${r * 0.09}" fill="#fbf7f2"/>
    <circle cx="${cx - r * 0.33}" cy="${cy - r * 0.12}" r="${r * 0.075}" fill="url(#iris)"/>
    <circle cx="${cx + r * 0.33}" cy="${cy - r * 0.12}" r="${r * 0.075}" fill="url(#iris)"/>
    <path d="M ${cx - r * 0.5} ${cy - r * 0.32} q ${r * 0.17} ${-r * 0.1} ${r * 0.34} 0 M ${cx + r * 0.16} ${cy - r * 0.32} q ${r * 0.17} ${-r * 0.1} ${r * 0.34} 0" stroke="#3a2418" stroke-width="${r * 0.04}" fill="none"/>
    <path d="M ${cx - r * 0.05} ${cy - r * 0.05} q ${-r * 0.09} ${r * 0.3} ${r * 0.04} ${r * 0.33}" stroke="#a8705a" stroke-width="${r * 0.025}" fill="none"/>
    <path d="M ${cx - r * 0.28} ${cy + r * 0.48} q ${r * 0.28} ${r * 0.17} ${r * 0.56} 0 q ${-r * 0.28} ${r * 0.04} ${-r * 0.56} 0" fill="#b5525c"/>
  </svg>`;
  const { data, info } = await sharp(background)
    .composite([{ input: Buffer.from(face) }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  addGrain(data, info.channels, await grain(width, height, 20), 0.25);
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toFile(file);
}

export async function qualityImages(dir: string, width: number, height: number): Promise<QualityImageInput[]> {
  const size = `${width}x${height}`;
  const svg = (make: (w: number, h: number) => string) => async (file: string) => {
    await sharp(Buffer.from(make(width, height)))
      .removeAlpha()
      .png({ compressionLevel: 3 })
      .toFile(file);
  };
  const specs: Array<{ name: string; description: string; make: (file: string) => Promise<void> }> = [
    {
      name: "photo",
      description: "photo-like: soft shapes on a gradient, camera grain",
      make: (file) => photo(file, width, height),
    },
    { name: "graphics", description: "flat graphics with large and small text", make: svg(graphicsSvg) },
    { name: "screenshot", description: "screenshot-like UI: small text, 1 px borders", make: svg(screenshotSvg) },
    {
      name: "portrait",
      description: "portrait-like: face stand-in, skin gradients, blurred background, light grain",
      make: (file) => portrait(file, width, height),
    },
  ];
  const inputs: QualityImageInput[] = [];
  for (const spec of specs)
    inputs.push({
      name: spec.name,
      description: spec.description,
      file: await cached(path.join(dir, `quality-${spec.name}-${size}-v2.png`), spec.make),
    });
  return inputs;
}

/** A cartoon-like flat frame: sky, hills, sun (the animation clip's background). */
function cartoonSvg(width: number, height: number): string {
  return `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <rect width="${width}" height="${height}" fill="#8ecae6"/>
    <circle cx="${width * 0.82}" cy="${height * 0.2}" r="${height * 0.1}" fill="#ffb703"/>
    <ellipse cx="${width * 0.25}" cy="${height * 1.05}" rx="${width * 0.45}" ry="${height * 0.45}" fill="#52b788"/>
    <ellipse cx="${width * 0.8}" cy="${height * 1.1}" rx="${width * 0.5}" ry="${height * 0.5}" fill="#2d6a4f"/>
    <rect x="${width * 0.1}" y="${height * 0.55}" width="${width * 0.12}" height="${height * 0.2}" fill="#e76f51" stroke="#1b1b1b" stroke-width="6"/>
    <polygon points="${width * 0.08},${height * 0.55} ${width * 0.24},${height * 0.55} ${width * 0.16},${height * 0.42}" fill="#9b2226" stroke="#1b1b1b" stroke-width="6"/>
  </svg>`;
}

/** A flat character with a black outline (alpha PNG) that moves across the cartoon. */
function characterSvg(size: number): string {
  return `<svg width="${size}" height="${size}" xmlns="http://www.w3.org/2000/svg">
    <circle cx="${size / 2}" cy="${size * 0.55}" r="${size * 0.4}" fill="#f4a261" stroke="#1b1b1b" stroke-width="8"/>
    <circle cx="${size * 0.38}" cy="${size * 0.45}" r="${size * 0.07}" fill="#ffffff" stroke="#1b1b1b" stroke-width="5"/>
    <circle cx="${size * 0.62}" cy="${size * 0.45}" r="${size * 0.07}" fill="#ffffff" stroke="#1b1b1b" stroke-width="5"/>
    <path d="M ${size * 0.35} ${size * 0.68} q ${size * 0.15} ${size * 0.12} ${size * 0.3} 0" stroke="#1b1b1b" stroke-width="7" fill="none"/>
  </svg>`;
}

async function encodeClip(out: string, inputs: string[], graph: string, durationSec: number): Promise<void> {
  await runFfmpeg({
    // Constant 8 Mbit/s with filler (a phone's 720p rate), as a camera or an export writes whatever the content: a CRF
    // source of a cartoon would be so small that the ladder's cap at 1.5× the source bitrate,
    // not the rungs, would decide its bitrates.
    args: [
      ...inputs,
      "-filter_complex",
      graph,
      "-map",
      "[out]",
      "-t",
      String(durationSec),
      "-r",
      "30",
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-b:v",
      "8M",
      "-minrate",
      "8M",
      "-maxrate",
      "8M",
      "-bufsize",
      "8M",
      "-x264-params",
      "nal-hrd=cbr",
      "-pix_fmt",
      "yuv420p",
      "-an",
      "-y",
      out,
    ],
    trustedInputs: true,
  });
}

/**
 * Three 720p30 clips of different difficulty, from still layers made with sharp moved by
 * ffmpeg's overlay/crop expressions: a talking head (static background, a face that sways
 * slowly, sensor noise), a fast pan across a detailed grainy scene with heavy temporal noise
 * (sport/handheld), and a cartoon (flat colours, outlines, a character crossing the frame).
 */
export async function qualityClips(dir: string, durationSec: number): Promise<QualityClipInput[]> {
  // 720p: the default ladder gives it two rungs (480p, 720p); 1080p would cost 2.2× the CPU per run on a 2-core machine.
  const [width, height] = [1280, 720];
  const layer = async (name: string, make: () => Promise<Buffer>) =>
    cached(
      path.join(dir, `quality-layer-${name}-${width}x${height}.png`),
      async (file) =>
        void (await sharp(await make())
          .png()
          .toFile(file)),
    );
  const still = (file: string) => ["-i", file];
  // Each still is decoded once and repeated by the loop filter (image2's -loop 1 would decode the PNG again for every frame).
  const looped = (index: number) => `[${index}:v]loop=loop=-1:size=1:start=0,setpts=N/(30*TB)`;
  const room = await layer("room", async () =>
    sharp(Buffer.from(sceneSvg(width, height, 11, false)))
      .removeAlpha()
      .blur(12)
      .png()
      .toBuffer(),
  );
  const person = await layer("person", async () => {
    // A head-and-shoulders box of 0.9 of the frame's height, as a webcam frames a speaker.
    const [w, h] = [Math.round(height * 0.83), Math.round(height * 0.93)];
    const portraitFile = path.join(dir, `quality-layer-portrait-source-${w}x${h}.png`);
    await cached(portraitFile, (file) => portrait(file, w, h));
    const mask = Buffer.from(
      `<svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg"><ellipse cx="${w / 2}" cy="${h * 0.56}" rx="${w * 0.47}" ry="${h * 0.47}" fill="#fff"/></svg>`,
    );
    return sharp(portraitFile)
      .ensureAlpha()
      .composite([{ input: mask, blend: "dest-in" }])
      .png()
      .toBuffer();
  });
  const scene = await layer("wide-scene", async () => {
    const [w, h] = [3840, 2160];
    const { data, info } = await sharp(Buffer.from(sceneSvg(w, h, 5, false)))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    addGrain(data, info.channels, await grain(w, h, 20), 0.9);
    return sharp(data, { raw: { width: w, height: h, channels: 3 } })
      .png()
      .toBuffer();
  });
  const cartoon = await layer("cartoon", async () =>
    sharp(Buffer.from(cartoonSvg(width, height)))
      .png()
      .toBuffer(),
  );
  const character = await layer("character", async () =>
    sharp(Buffer.from(characterSvg(Math.round(height / 3))))
      .png()
      .toBuffer(),
  );

  const clips: Array<{ name: string; description: string; inputs: string[]; graph: string }> = [
    {
      name: "talking-head",
      description: "talking head: static blurred room, a face swaying slowly, light sensor noise",
      inputs: [...still(room), ...still(person)],
      graph: `${looped(0)},format=yuv420p[bg];${looped(1)},format=yuva420p[fg];[bg][fg]overlay=x='(W-w)/2+W/75*sin(2*PI*t/3)':y='H-h+H/27+H/100*sin(2*PI*t/2)':eval=frame:shortest=1,noise=alls=4:allf=t,format=yuv420p[out]`,
    },
    {
      name: "high-motion",
      description: "high motion: fast pan across a detailed grainy scene, heavy temporal noise",
      inputs: still(scene),
      graph: `${looped(0)},crop=${width}:${height}:x='(iw-${width})*(0.5+0.5*sin(2*PI*t/4))':y='(ih-${height})*(0.5+0.5*cos(2*PI*t/5))',noise=alls=10:allf=t,format=yuv420p[out]`,
    },
    {
      name: "animation",
      description: "animation: flat colours and outlines, a character crossing the frame",
      inputs: [...still(cartoon), ...still(character)],
      graph: `${looped(0)},format=yuv420p[bg];${looped(1)},format=yuva420p[fg];[bg][fg]overlay=x='mod(t*W/4.5,W+w)-w':y='H*0.55-H/9*abs(sin(2*PI*t/1.2))':eval=frame:shortest=1,format=yuv420p[out]`,
    },
  ];
  const result: QualityClipInput[] = [];
  for (const clip of clips) {
    const file = await cached(path.join(dir, `quality-${clip.name}-720p30-8M-${durationSec}s.mp4`), (temporary) =>
      encodeClip(temporary, clip.inputs, clip.graph, durationSec),
    );
    result.push({ name: clip.name, description: clip.description, file, durationSec });
  }
  return result;
}
