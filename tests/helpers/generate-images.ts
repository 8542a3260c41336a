import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";

const execFileAsync = promisify(execFile);

/** Test images made on the fly; nothing binary is committed. */

/** A landscape JPEG stored 400×300 whose EXIF says "rotate 90° CW" (Orientation=6), with camera and GPS tags. */
export async function rotatedPhoneJpeg(): Promise<Buffer> {
  return (
    sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 200, g: 40, b: 40 } } })
      .composite([
        {
          input: Buffer.from(
            '<svg width="400" height="300"><rect x="0" y="0" width="100" height="300" fill="#1040c0"/></svg>',
          ),
          top: 0,
          left: 0,
        },
      ])
      .jpeg({ quality: 90 })
      .withExif({
        IFD0: { Make: "TestCam", Model: "TestCam X1" },
        IFD2: { DateTimeOriginal: "2024:05:06 07:08:09", LensModel: "Test 24mm" },
        IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 0/1", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 0/1" },
      })
      // Set after withExif, which would otherwise reset the orientation to 1.
      .withMetadata({ orientation: 6 })
      .toBuffer()
  );
}

/** A 320×200 PNG with a transparent left half. */
export async function transparentPng(): Promise<Buffer> {
  const { data, info } = await sharp({
    create: { width: 320, height: 200, channels: 4, background: { r: 20, g: 160, b: 60, alpha: 1 } },
  })
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let y = 0; y < info.height; y++) for (let x = 0; x < info.width / 2; x++) data[(y * info.width + x) * 4 + 3] = 0;
  return sharp(data, { raw: info }).png().toBuffer();
}

/**
 * A tiny progressive JPEG whose header declares 65000×65000 pixels: the classic decompression
 * bomb (decoding it without a pixel cap costs tens of seconds and gigabytes).
 */
export async function decompressionBombJpeg(): Promise<Buffer> {
  const small = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#808080" } })
    .jpeg({ progressive: true })
    .toBuffer();
  const bomb = Buffer.from(small);
  // Patch every start-of-frame marker's height and width fields.
  for (let i = 0; i < bomb.length - 9; i++) {
    if (bomb[i] === 0xff && (bomb[i + 1] === 0xc0 || bomb[i + 1] === 0xc2)) {
      bomb.writeUInt16BE(65000, i + 5);
      bomb.writeUInt16BE(65000, i + 7);
    }
  }
  return bomb;
}

/** A JPEG cut off after a third of its bytes. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#336699" } })
    .composite([
      { input: Buffer.from('<svg width="640" height="480"><circle cx="320" cy="240" r="200" fill="#ffcc00"/></svg>') },
    ])
    .jpeg({ quality: 95 })
    .toBuffer();
  return full.subarray(0, Math.floor(full.length / 3));
}

/** A two-frame 120×80 animated GIF (red, then blue). */
export async function animatedGif(): Promise<Buffer> {
  const frame = (colour: string) =>
    sharp({ create: { width: 120, height: 80, channels: 3, background: colour } })
      .png()
      .toBuffer();
  return sharp([await frame("#ff0000"), await frame("#0000ff")], { join: { animated: true } })
    .gif({ loop: 0, delay: [200, 200] })
    .toBuffer();
}

/**
 * An iPhone-style HEIC (HEVC-coded HEIF) made from `image` with libheif's heif-enc (Debian's
 * libheif-examples): a 640×480 picture, red left half and blue right half, in Display P3, with
 * camera and GPS EXIF whose Orientation says "rotate 90°" — which a HEIC reader must ignore,
 * since HEIF carries rotation in the container (there is none here).
 */
export async function phoneHeic(): Promise<Buffer> {
  const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 30, g: 30, b: 220 } } })
    .composite([
      {
        input: Buffer.from(
          '<svg width="320" height="480"><rect x="0" y="0" width="320" height="480" fill="#dc1e1e"/></svg>',
        ),
        top: 0,
        left: 0,
      },
    ])
    .jpeg({ quality: 92 })
    .withExif({
      IFD0: { Make: "Apple", Model: "iPhone 15 Pro" },
      IFD2: { DateTimeOriginal: "2025:06:07 08:09:10" },
      IFD3: { GPSLatitudeRef: "N", GPSLatitude: "48/1 51/1 0/1", GPSLongitudeRef: "E", GPSLongitude: "2/1 21/1 0/1" },
    })
    .withMetadata({ orientation: 6 })
    .withIccProfile("p3")
    .toBuffer();
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-heic-"));
  try {
    await writeFile(path.join(dir, "in.jpg"), jpeg);
    await execFileAsync("heif-enc", ["-q", "85", "-o", path.join(dir, "out.heic"), path.join(dir, "in.jpg")]);
    return await readFile(path.join(dir, "out.heic"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A HEIC whose image-size property (ispe) declares 65000×65000 pixels: a HEIF decompression bomb. */
export async function heicBomb(): Promise<Buffer> {
  const bomb = Buffer.from(await phoneHeic());
  const at = bomb.indexOf("ispe");
  if (at < 0) throw new Error("no ispe box in the generated HEIC");
  // ispe: type(4) · version+flags(4) · width(4) · height(4)
  bomb.writeUInt32BE(65000, at + 8);
  bomb.writeUInt32BE(65000, at + 12);
  return bomb;
}

/**
 * A multi-page greyscale TIFF written by hand (libvips writes one page size only): one
 * uncompressed strip per page, each page's IFD pointing to the next — a two-page fax with pages
 * of different sizes, or a same-size scan set. `grey` is each page's flat value.
 */
export function multiPageTiff(pages: ReadonlyArray<{ width: number; height: number; grey: number }>): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(8);
  header.write("II", 0, "latin1");
  header.writeUInt16LE(42, 2);
  parts.push(header);
  let offset = 8;
  const ifdOffsets: number[] = [];
  const layouts = pages.map((page) => {
    const dataOffset = offset;
    parts.push(Buffer.alloc(page.width * page.height, page.grey));
    offset += page.width * page.height + ((page.width * page.height) % 2);
    if ((page.width * page.height) % 2) parts.push(Buffer.alloc(1));
    return { ...page, dataOffset };
  });
  const tagCount = 9;
  const ifdBytes = 2 + tagCount * 12 + 4;
  for (let index = 0; index < layouts.length; index += 1) ifdOffsets.push(offset + index * ifdBytes);
  header.writeUInt32LE(ifdOffsets[0]!, 4);
  layouts.forEach((page, index) => {
    const ifd = Buffer.alloc(ifdBytes);
    ifd.writeUInt16LE(tagCount, 0);
    const tags: Array<[number, number, number]> = [
      [256, 4, page.width],
      [257, 4, page.height],
      [258, 3, 8],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, page.dataOffset],
      [277, 3, 1],
      [278, 4, page.height],
      [279, 4, page.width * page.height],
    ];
    tags.forEach(([tag, type, value], slot) => {
      const at = 2 + slot * 12;
      ifd.writeUInt16LE(tag, at);
      ifd.writeUInt16LE(type, at + 2);
      ifd.writeUInt32LE(1, at + 4);
      if (type === 3) ifd.writeUInt16LE(value, at + 8);
      else ifd.writeUInt32LE(value, at + 8);
    });
    ifd.writeUInt32LE(ifdOffsets[index + 1] ?? 0, 2 + tagCount * 12);
    parts.push(ifd);
  });
  return Buffer.concat(parts);
}

/**
 * A two-image AVIF (a HEIF collection, as burst and edit-preserving cameras write) whose primary
 * item is the second one: heif-enc writes the images in order, then the `pitm` box is pointed
 * at item 2. The first image is 64×48 red, the primary 32×24 blue.
 */
export async function avifWithSecondPrimary(): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-avif-"));
  try {
    const first = path.join(dir, "first.png");
    const second = path.join(dir, "second.png");
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 255, g: 0, b: 0 } } })
      .png()
      .toFile(first);
    await sharp({ create: { width: 32, height: 24, channels: 3, background: { r: 0, g: 0, b: 255 } } })
      .png()
      .toFile(second);
    const out = path.join(dir, "two.avif");
    await execFileAsync("heif-enc", ["-A", "-q", "60", first, second, "-o", out]);
    const bytes = await readFile(out);
    const pitm = bytes.indexOf("pitm", 0, "latin1");
    if (pitm < 0 || bytes[pitm + 4] !== 0) throw new Error("heif-enc wrote no version-0 pitm box");
    bytes.writeUInt16BE(2, pitm + 8);
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An APNG of `frames` frames of testsrc2 (a moving pattern), written by ffmpeg, looping forever. */
export async function animatedPng(frames: number, width = 120, height = 90): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-apng-"));
  try {
    const out = path.join(dir, "anim.png");
    await execFileAsync("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=${width}x${height}:r=10`,
      "-frames:v",
      String(frames),
      "-plays",
      "0",
      "-f",
      "apng",
      "-y",
      out,
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An animated WebP of `frames` frames of testsrc2, written by ffmpeg's libwebp_anim. */
export async function animatedWebp(frames: number, width = 120, height = 90): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-awebp-"));
  try {
    const out = path.join(dir, "anim.webp");
    await execFileAsync("ffmpeg", [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=${width}x${height}:r=10`,
      "-frames:v",
      String(frames),
      "-c:v",
      "libwebp_anim",
      "-loop",
      "0",
      "-f",
      "webp",
      "-y",
      out,
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
