import { open } from "node:fs/promises";
import type { DetectedMedia } from "./detected-media.ts";

/** Enough bytes for every signature below (ISO-BMFF brands, TS sync bytes, XML prologues). */
export const SNIFF_BYTES = 4096;

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
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return media("image", "tiff", "image/tiff");
  if (ascii(bytes, 0, 4) === "RIFF") return detectRiff(ascii(bytes, 8, 12));
  // RF64 (EBU Tech 3306) and BW64 (ITU-R BS.2088): WAV past 4 GiB, read by the same demuxer.
  if ((ascii(bytes, 0, 4) === "RF64" || ascii(bytes, 0, 4) === "BW64") && ascii(bytes, 8, 12) === "WAVE")
    return media("audio", "wav", "audio/wav");
  if (ascii(bytes, 4, 8) === "ftyp") return detectIsoBmff(bytes);
  if (isQuickTimeWithoutFtyp(bytes)) return media("video", "mov", "video/quicktime");
  if (ascii(bytes, 0, 5) === "%PDF-") return media("document", "pdf", "application/pdf");
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    return ascii(bytes, 0, 64).includes("webm")
      ? media("video", "webm", "video/webm")
      : media("video", "matroska", "video/x-matroska");
  }
  if (startsWith(bytes, ASF_HEADER_GUID)) return media("video", "asf", "video/x-ms-asf");
  if (ascii(bytes, 0, 3) === "FLV" && bytes[3] === 0x01) return media("video", "flv", "video/x-flv");
  const audio = detectAudioContainer(bytes);
  if (audio) return audio;
  if (ascii(bytes, 0, 4) === "fLaC") return media("audio", "flac", "audio/flac");
  if (ascii(bytes, 0, 4) === "OggS") return media("audio", "ogg", "audio/ogg");
  if (ascii(bytes, 0, 3) === "ID3" || isMpegAudioFrame(bytes)) return media("audio", "mp3", "audio/mpeg");
  if (isAdtsStream(bytes)) return media("audio", "aac", "audio/aac");
  if (isMpegTransportStream(bytes)) return media("video", "mpegts", "video/mp2t");
  const mpeg = detectMpegStream(bytes);
  if (mpeg) return mpeg;
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return detectZip(bytes);
  if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))
    return media("document", "ole", "application/x-ole-storage");
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
  for (let offset = 16; offset + 4 <= Math.min(boxSize, bytes.length); offset += 4)
    compatible.push(ascii(bytes, offset, offset + 4));
  const brands = [major, ...compatible];
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return media("image", "avif", "image/avif");
  if (brands.some((brand) => HEIF_BRANDS.has(brand)) && !brands.includes("isom"))
    return media("image", "heif", "image/heif");
  if (AUDIO_BRANDS.has(major)) return media("audio", "m4a", "audio/mp4");
  if (major === "qt  ") return media("video", "mov", "video/quicktime");
  if (major.startsWith("3g")) return media("video", "3gp", "video/3gpp");
  return media("video", "mp4", "video/mp4");
}

/** ASF (WMA, WMV): the header object's GUID 75B22630-668E-11CF-A6D9-00AA0062CE6C as stored. */
const ASF_HEADER_GUID = [
  0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11, 0xa6, 0xd9, 0x00, 0xaa, 0x00, 0x62, 0xce, 0x6c,
];
/** Sony Wave64: the `riff` GUID, then at 24 the `wave` GUID. */
const W64_RIFF_GUID = [0x72, 0x69, 0x66, 0x66, 0x2e, 0x91, 0xcf, 0x11, 0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00];
const W64_WAVE_GUID = [0x77, 0x61, 0x76, 0x65, 0xf3, 0xac, 0xd3, 0x11, 0x8c, 0xd1, 0x00, 0xc0, 0x4f, 0x8e, 0xdb, 0x8a];

/**
 * Audio containers recognised by a fixed signature: voice memos (AMR, CAF), studio and archive
 * formats (AIFF/AIFF-C, Wave64, WavPack, Monkey's Audio, DSD). AMR's multi-channel variant is
 * recognised too, but ffmpeg 5.1's AMR demuxer reads only the single-channel magic lines.
 */
function detectAudioContainer(bytes: Buffer): DetectedMedia | undefined {
  if (ascii(bytes, 0, 4) === "FORM" && (ascii(bytes, 8, 12) === "AIFF" || ascii(bytes, 8, 12) === "AIFC"))
    return media("audio", "aiff", "audio/aiff");
  if (ascii(bytes, 0, 6) === "#!AMR\n") return media("audio", "amr", "audio/amr");
  if (ascii(bytes, 0, 9) === "#!AMR-WB\n") return media("audio", "amr", "audio/amr-wb");
  if (ascii(bytes, 0, 12) === "#!AMR_MC1.0\n" || ascii(bytes, 0, 15) === "#!AMR-WB_MC1.0\n") {
    return { ...media("audio", "amr-mc", "audio/amr"), unsupported: "Multi-channel AMR" };
  }
  if (ascii(bytes, 0, 4) === "caff" && bytes.length >= 6 && bytes.readUInt16BE(4) === 1)
    return media("audio", "caf", "audio/x-caf");
  if (startsWith(bytes, W64_RIFF_GUID) && startsWith(bytes, W64_WAVE_GUID, 24))
    return media("audio", "w64", "audio/x-w64");
  if (ascii(bytes, 0, 4) === "wvpk") return media("audio", "wavpack", "audio/x-wavpack");
  if (ascii(bytes, 0, 4) === "MAC ") return media("audio", "ape", "audio/x-ape");
  if (ascii(bytes, 0, 4) === "DSD " && bytes.length >= 12 && bytes.readBigUInt64LE(4) === 28n)
    return media("audio", "dsf", "audio/x-dsf");
  return undefined;
}

/**
 * QuickTime files from older cameras have no `ftyp`: the first atom is `wide`, `free`, `skip`,
 * `mdat`, `moov` or `pnot`. A plausible size is required (1 = 64-bit size follows; 0 = to the end).
 */
const QUICKTIME_FIRST_ATOMS = new Set(["moov", "mdat", "wide", "free", "skip", "pnot"]);
function isQuickTimeWithoutFtyp(bytes: Buffer): boolean {
  if (bytes.length < 8 || !QUICKTIME_FIRST_ATOMS.has(ascii(bytes, 4, 8))) return false;
  const size = bytes.readUInt32BE(0);
  return size === 0 || size === 1 || size >= 8;
}

/**
 * Raw ADTS AAC: a 12-bit sync, layer 0, a valid sampling index and a frame length; when the
 * next frame starts inside the sniffed bytes its header must match too (random bytes rarely do).
 */
function isAdtsStream(bytes: Buffer): boolean {
  const header = (offset: number) => {
    if (offset + 7 > bytes.length || bytes[offset] !== 0xff || ((bytes[offset + 1] ?? 0) & 0xf6) !== 0xf0)
      return undefined;
    const samplingIndex = ((bytes[offset + 2] ?? 0) >> 2) & 0x0f;
    const frameLength =
      (((bytes[offset + 3] ?? 0) & 0x03) << 11) | ((bytes[offset + 4] ?? 0) << 3) | ((bytes[offset + 5] ?? 0) >> 5);
    return samplingIndex < 13 && frameLength >= 7 ? frameLength : undefined;
  };
  const first = header(0);
  if (first === undefined) return false;
  return first + 7 > bytes.length || header(first) !== undefined;
}

/**
 * MPEG-1/2 video: a program stream (`.mpg`, `.vob`) starts with a pack header, but one cut
 * mid-way starts with a system header or a PES packet; an elementary stream (`.m1v`, `.m2v`,
 * some `.mpg`) starts with a sequence header. Leading zero stuffing is allowed.
 */
function detectMpegStream(bytes: Buffer): DetectedMedia | undefined {
  let offset = 0;
  while (offset < 64 && bytes[offset] === 0x00 && bytes[offset + 1] === 0x00 && bytes[offset + 2] === 0x00) offset += 1;
  if (!startsWith(bytes, [0x00, 0x00, 0x01], offset)) return undefined;
  const code = bytes[offset + 3] ?? 0;
  if (code === 0xb3) return media("video", "mpegvideo", "video/mpeg");
  // 0xBA pack, 0xBB system header, 0xBD private stream 1 (DVD audio), 0xC0–0xEF audio/video PES.
  if (code === 0xba || code === 0xbb || code === 0xbd || (code >= 0xc0 && code <= 0xef))
    return media("video", "mpeg", "video/mpeg");
  return undefined;
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
  if (head.includes("word/"))
    return media("document", "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document");
  if (head.includes("xl/"))
    return media("document", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  if (head.includes("ppt/"))
    return media("document", "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation");
  if (head.includes("mimetypeapplication/vnd.oasis.opendocument"))
    return media("document", "odf", "application/vnd.oasis.opendocument");
  if (head.includes("[Content_Types].xml"))
    return media("document", "ooxml", "application/vnd.openxmlformats-officedocument");
  return media("unknown", "zip", "application/zip");
}

/**
 * Text formats: playlists and concat lists are how an "mp4" upload makes ffmpeg read other
 * files, so they are recognised here and refused by every processor.
 */
function detectText(bytes: Buffer): DetectedMedia {
  const text = bytes
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart();
  if (text.startsWith("#EXTM3U") || text.startsWith("#EXT-X-"))
    return media("playlist", "hls", "application/vnd.apple.mpegurl");
  if (text.startsWith("ffconcat")) return media("playlist", "ffconcat", "text/plain");
  if (/^\[playlist\]/i.test(text)) return media("playlist", "pls", "audio/x-scpls");
  if (/^<\?xml[\s\S]*<svg/i.test(text) || /^<svg[\s>]/i.test(text)) return media("image", "svg", "image/svg+xml");
  if (/^<\?xml[\s\S]*<(MPD|smil)/i.test(text)) return media("playlist", "xml-manifest", "application/xml");
  return media("unknown", "unknown", "application/octet-stream");
}
