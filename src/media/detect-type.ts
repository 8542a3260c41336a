import { open } from "node:fs/promises";
import type { DetectedMedia } from "./detected-media.ts";

/** Enough bytes for every signature below (ISO-BMFF brands, TS sync bytes, XML prologues). */
const SNIFF_BYTES = 4096;

/** Reads the head of a file and detects its type from magic numbers. */
export async function detectFileType(filePath: string): Promise<DetectedMedia> {
  const handle = await open(filePath, "r");
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
    return detectFromBytes(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString("latin1");
const startsWith = (bytes: Buffer, signature: number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((byte, index) => bytes[offset + index] === byte);

const media = (kind: DetectedMedia["kind"], format: string, mime: string): DetectedMedia => ({ kind, format, mime });

/** Pure signature matching; the order matters where signatures share a prefix (RIFF, ftyp). */
export function detectFromBytes(bytes: Buffer): DetectedMedia {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return media("image", "jpeg", "image/jpeg");
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return media("image", "png", "image/png");
  if (ascii(bytes, 0, 6) === "GIF87a" || ascii(bytes, 0, 6) === "GIF89a") return media("image", "gif", "image/gif");
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) return media("image", "tiff", "image/tiff");
  if (ascii(bytes, 0, 4) === "RIFF") return detectRiff(ascii(bytes, 8, 12));
  if (ascii(bytes, 4, 8) === "ftyp") return detectIsoBmff(bytes);
  if (ascii(bytes, 0, 5) === "%PDF-") return media("document", "pdf", "application/pdf");
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    return ascii(bytes, 0, 64).includes("webm") ? media("video", "webm", "video/webm") : media("video", "matroska", "video/x-matroska");
  }
  if (ascii(bytes, 0, 4) === "fLaC") return media("audio", "flac", "audio/flac");
  if (ascii(bytes, 0, 4) === "OggS") return media("audio", "ogg", "audio/ogg");
  if (ascii(bytes, 0, 3) === "ID3" || isMpegAudioFrame(bytes)) return media("audio", "mp3", "audio/mpeg");
  if (isMpegTransportStream(bytes)) return media("video", "mpegts", "video/mp2t");
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0xba])) return media("video", "mpeg", "video/mpeg");
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return detectZip(bytes);
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return media("document", "ole", "application/x-ole-storage");
  return detectText(bytes);
}

function detectRiff(form: string): DetectedMedia {
  if (form === "WEBP") return media("image", "webp", "image/webp");
  if (form === "WAVE") return media("audio", "wav", "audio/wav");
  if (form === "AVI ") return media("video", "avi", "video/x-msvideo");
  return media("unknown", "riff", "application/octet-stream");
}

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIF_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"]);
const AUDIO_BRANDS = new Set(["M4A ", "M4B ", "M4P ", "F4A ", "F4B "]);

function detectIsoBmff(bytes: Buffer): DetectedMedia {
  const major = ascii(bytes, 8, 12);
  const boxSize = bytes.readUInt32BE(0);
  const compatible: string[] = [];
  for (let offset = 16; offset + 4 <= Math.min(boxSize, bytes.length); offset += 4) compatible.push(ascii(bytes, offset, offset + 4));
  const brands = [major, ...compatible];
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return media("image", "avif", "image/avif");
  if (brands.some((brand) => HEIF_BRANDS.has(brand)) && !brands.includes("isom")) return media("image", "heif", "image/heif");
  if (AUDIO_BRANDS.has(major)) return media("audio", "m4a", "audio/mp4");
  if (major === "qt  ") return media("video", "mov", "video/quicktime");
  if (major.startsWith("3g")) return media("video", "3gp", "video/3gpp");
  return media("video", "mp4", "video/mp4");
}

function isMpegAudioFrame(bytes: Buffer): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff) return false;
  const second = bytes[1] ?? 0;
  // Frame sync (11 bits), a valid version and layer III/II.
  return (second & 0xe0) === 0xe0 && (second & 0x18) !== 0x08 && (second & 0x06) !== 0x00;
}

function isMpegTransportStream(bytes: Buffer): boolean {
  return bytes.length >= 377 && bytes[0] === 0x47 && bytes[188] === 0x47 && bytes[376] === 0x47;
}

function detectZip(bytes: Buffer): DetectedMedia {
  const head = ascii(bytes, 0, bytes.length);
  if (head.includes("word/")) return media("document", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  if (head.includes("xl/")) return media("document", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  if (head.includes("ppt/")) return media("document", "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation");
  if (head.includes("mimetypeapplication/vnd.oasis.opendocument")) return media("document", "odf", "application/vnd.oasis.opendocument");
  if (head.includes("[Content_Types].xml")) return media("document", "ooxml", "application/vnd.openxmlformats-officedocument");
  return media("unknown", "zip", "application/zip");
}

/**
 * Text formats: playlists and concat lists are how an "mp4" upload makes ffmpeg read other
 * files, so they are recognised here and refused by every processor.
 */
function detectText(bytes: Buffer): DetectedMedia {
  const text = bytes.toString("utf8").replace(/^\uFEFF/, "").trimStart();
  if (text.startsWith("#EXTM3U") || text.startsWith("#EXT-X-")) return media("playlist", "hls", "application/vnd.apple.mpegurl");
  if (text.startsWith("ffconcat")) return media("playlist", "ffconcat", "text/plain");
  if (/^\[playlist\]/i.test(text)) return media("playlist", "pls", "audio/x-scpls");
  if (/^<\?xml[\s\S]*<svg/i.test(text) || /^<svg[\s>]/i.test(text)) return media("image", "svg", "image/svg+xml");
  if (/^<\?xml[\s\S]*<(MPD|smil)/i.test(text)) return media("playlist", "xml-manifest", "application/xml");
  return media("unknown", "unknown", "application/octet-stream");
}
