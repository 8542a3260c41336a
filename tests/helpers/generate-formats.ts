import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";

/**
 * One small file per upload format that phones, cameras, browsers and recorders produce, made
 * on the fly: by ffmpeg where it has a muxer and encoder for the format, by hand (a few dozen
 * bytes of header around real or decodable payload) where it has only a decoder (AMR, DSF, APE).
 * Nothing binary is committed. `expect` is what type detection must say about the bytes.
 */
export interface FormatFixture {
  name: string;
  /** What detect-type.ts must return for these bytes (kind before any probe, format). */
  expect: { kind: "audio" | "video"; format: string };
  /** The kind once the streams are known (an ASF holding only WMA is audio). */
  finalKind: "audio" | "video";
  /** The file name a user would upload it under (the pipeline never reads it). */
  fileName: string;
  make(out: string): Promise<void>;
}

const TONE = "sine=frequency=440:sample_rate=44100:duration=1,aformat=channel_layouts=stereo";
const lavfiAudio = (out: string, args: string[], source = TONE) =>
  runFfmpeg({ args: ["-f", "lavfi", "-i", source, ...args, "-y", out], trustedInputs: true }).then(() => undefined);
/** 1 s of 320x240 testsrc2 at 10 fps with a 440 Hz tone, encoded as `args` say. */
const lavfiVideo = (out: string, args: string[], audio = true) =>
  runFfmpeg({
    args: [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=320x240:r=10:d=1",
      ...(audio ? ["-f", "lavfi", "-i", TONE] : []),
      "-t",
      "1",
      ...args,
      "-y",
      out,
    ],
    trustedInputs: true,
  }).then(() => undefined);

export const FORMAT_FIXTURES: readonly FormatFixture[] = [
  {
    name: "raw ADTS AAC",
    fileName: "voice.aac",
    expect: { kind: "audio", format: "aac" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "aac", "-b:a", "96k", "-f", "adts"]),
  },
  {
    name: "AIFF",
    fileName: "take.aiff",
    expect: { kind: "audio", format: "aiff" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "pcm_s16be", "-f", "aiff"]),
  },
  // AIFF-C with little-endian samples ('sowt') is what macOS writes.
  {
    name: "AIFF-C",
    fileName: "take.aifc",
    expect: { kind: "audio", format: "aiff" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "pcm_s16le", "-f", "aiff"]),
  },
  {
    name: "WMA (ASF)",
    fileName: "memo.wma",
    expect: { kind: "video", format: "asf" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "wmav2", "-b:a", "64k", "-f", "asf"]),
  },
  {
    name: "RF64 WAV",
    fileName: "long.wav",
    expect: { kind: "audio", format: "wav" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "pcm_s16le", "-rf64", "always", "-f", "wav"]),
  },
  {
    name: "BW64 WAV",
    fileName: "broadcast.wav",
    expect: { kind: "audio", format: "wav" },
    finalKind: "audio",
    make: makeBw64,
  },
  {
    name: "AMR-NB voice memo",
    fileName: "memo.amr",
    expect: { kind: "audio", format: "amr" },
    finalKind: "audio",
    make: (out) => writeAmr(out, "nb", 50),
  },
  {
    name: "AMR-WB voice memo",
    fileName: "memo-wb.amr",
    expect: { kind: "audio", format: "amr" },
    finalKind: "audio",
    make: (out) => writeAmr(out, "wb", 50),
  },
  {
    name: "WavPack",
    fileName: "album.wv",
    expect: { kind: "audio", format: "wavpack" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "wavpack", "-f", "wv"]),
  },
  {
    name: "Monkey's Audio",
    fileName: "album.ape",
    expect: { kind: "audio", format: "ape" },
    finalKind: "audio",
    make: (out) => writeSilentApe(out, 44100),
  },
  {
    name: "DSD (DSF)",
    fileName: "hires.dsf",
    expect: { kind: "audio", format: "dsf" },
    finalKind: "audio",
    make: (out) => writeDsf(out, 0.5),
  },
  {
    name: "CAF",
    fileName: "memo.caf",
    expect: { kind: "audio", format: "caf" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "alac", "-f", "caf"]),
  },
  {
    name: "Sony Wave64",
    fileName: "session.w64",
    expect: { kind: "audio", format: "w64" },
    finalKind: "audio",
    make: (out) => lavfiAudio(out, ["-c:a", "pcm_s16le", "-f", "w64"]),
  },
  {
    name: "WMV (ASF)",
    fileName: "clip.wmv",
    expect: { kind: "video", format: "asf" },
    finalKind: "video",
    make: (out) => lavfiVideo(out, ["-c:v", "wmv2", "-b:v", "300k", "-c:a", "wmav2", "-f", "asf"]),
  },
  {
    name: "FLV",
    fileName: "clip.flv",
    expect: { kind: "video", format: "flv" },
    finalKind: "video",
    make: (out) =>
      lavfiVideo(out, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv"]),
  },
  {
    name: "QuickTime starting with wide",
    fileName: "MVI_0001.MOV",
    expect: { kind: "video", format: "mov" },
    finalKind: "video",
    make: (out) => writeQuickTime(out, "wide"),
  },
  {
    name: "QuickTime starting with free",
    fileName: "MVI_0002.MOV",
    expect: { kind: "video", format: "mov" },
    finalKind: "video",
    make: (out) => writeQuickTime(out, "free"),
  },
  {
    name: "QuickTime starting with mdat",
    fileName: "MVI_0003.MOV",
    expect: { kind: "video", format: "mov" },
    finalKind: "video",
    make: (out) => writeQuickTime(out, "mdat"),
  },
  {
    name: "MPEG-1 elementary stream",
    fileName: "clip.m1v",
    expect: { kind: "video", format: "mpegvideo" },
    finalKind: "video",
    make: (out) => lavfiVideo(out, ["-r", "25", "-c:v", "mpeg1video", "-b:v", "500k", "-f", "mpeg1video"], false),
  },
  {
    name: "MPEG-2 elementary stream",
    fileName: "clip.m2v",
    expect: { kind: "video", format: "mpegvideo" },
    finalKind: "video",
    make: (out) => lavfiVideo(out, ["-c:v", "mpeg2video", "-b:v", "500k", "-f", "mpeg2video"], false),
  },
  {
    name: "MPEG-1 program stream",
    fileName: "clip.mpg",
    expect: { kind: "video", format: "mpeg" },
    finalKind: "video",
    make: (out) => lavfiVideo(out, ["-r", "25", "-c:v", "mpeg1video", "-b:v", "500k", "-c:a", "mp2", "-f", "mpeg"]),
  },
  {
    name: "DVD VOB",
    fileName: "VTS_01_1.VOB",
    expect: { kind: "video", format: "mpeg" },
    finalKind: "video",
    make: (out) => lavfiVideo(out, ["-c:v", "mpeg2video", "-b:v", "800k", "-c:a", "ac3", "-b:a", "128k", "-f", "vob"]),
  },
  {
    name: "MPEG-2 program stream cut after its pack header",
    fileName: "cut.vob",
    expect: { kind: "video", format: "mpeg" },
    finalKind: "video",
    make: writeCutProgramStream,
  },
];

export async function makeFixture(fixture: FormatFixture, dir: string): Promise<string> {
  const out = path.join(dir, fixture.fileName.replace(/[^\w.-]/g, "_"));
  await fixture.make(out);
  return out;
}

/** BW64 (ITU-R BS.2088) is RF64 with its own four bytes at the front. */
async function makeBw64(out: string): Promise<void> {
  await lavfiAudio(out, ["-c:a", "pcm_s16le", "-rf64", "always", "-f", "wav"]);
  const bytes = await readFile(out);
  bytes.write("BW64", 0, "latin1");
  await writeFile(out, bytes);
}

/**
 * AMR storage format (RFC 4867 §5): the magic line, then frames of one header byte
 * (frame type << 3 | quality bit) and the mode's payload. ffmpeg 5.1 decodes AMR but Debian's
 * build has no AMR encoder, so the payload is random bits of the highest mode: the decoder
 * turns any bits into speech-band audio, which is all a pipeline fixture needs.
 */
export async function writeAmr(out: string, band: "nb" | "wb", frames: number): Promise<void> {
  const magic = band === "nb" ? "#!AMR\n" : "#!AMR-WB\n";
  // NB mode 7 (12.2 kbit/s): 244 bits → 31 bytes; WB mode 8 (23.85 kbit/s): 477 bits → 60 bytes.
  const [frameType, payloadBytes] = band === "nb" ? [7, 31] : [8, 60];
  const parts = [Buffer.from(magic, "latin1")];
  for (let index = 0; index < frames; index += 1)
    parts.push(Buffer.from([(frameType << 3) | 0x04]), randomBytes(payloadBytes));
  await writeFile(out, Buffer.concat(parts));
}

/**
 * DSF (Sony's DSD Stream File): a 440 Hz tone, 1-bit at 2.8224 MHz (DSD64), made with a
 * second-order sigma-delta modulator, stereo, LSB first, 4096-byte blocks per channel.
 */
export async function writeDsf(out: string, durationSec: number): Promise<void> {
  const rate = 2_822_400;
  const channels = 2;
  const block = 4096;
  const samples = Math.ceil((rate * durationSec) / (block * 8)) * block * 8;
  const blocks = samples / (block * 8);
  const channelBits: Buffer[] = [];
  for (let channel = 0; channel < channels; channel += 1) {
    const bytes = Buffer.alloc(samples / 8);
    let i1 = 0;
    let i2 = 0;
    let y = 0;
    for (let n = 0; n < samples; n += 1) {
      const x = 0.5 * Math.sin((2 * Math.PI * 440 * n) / rate);
      i1 += x - y;
      i2 += i1 - y;
      y = i2 >= 0 ? 1 : -1;
      if (y > 0) bytes[n >> 3]! |= 1 << (n & 7);
    }
    channelBits.push(bytes);
  }
  const data = Buffer.alloc(blocks * block * channels);
  for (let b = 0; b < blocks; b += 1) {
    for (let channel = 0; channel < channels; channel += 1)
      channelBits[channel]!.copy(data, (b * channels + channel) * block, b * block, (b + 1) * block);
  }
  const header = Buffer.alloc(28 + 52 + 12);
  header.write("DSD ", 0, "latin1");
  header.writeBigUInt64LE(28n, 4);
  header.writeBigUInt64LE(BigInt(header.length + data.length), 12);
  header.writeBigUInt64LE(0n, 20); // no ID3 block
  header.write("fmt ", 28, "latin1");
  header.writeBigUInt64LE(52n, 32);
  header.writeUInt32LE(1, 40); // format version
  header.writeUInt32LE(0, 44); // DSD raw
  header.writeUInt32LE(2, 48); // channel type: stereo
  header.writeUInt32LE(channels, 52);
  header.writeUInt32LE(rate, 56);
  header.writeUInt32LE(1, 60); // bits per sample: 1 = LSB first
  header.writeBigUInt64LE(BigInt(samples), 64);
  header.writeUInt32LE(block, 72);
  header.write("data", 80, "latin1");
  header.writeBigUInt64LE(BigInt(12 + data.length), 84);
  await writeFile(out, Buffer.concat([header, data]));
}

/**
 * Monkey's Audio 3.99 (descriptor + header + seek table), 16-bit stereo, every frame flagged
 * "stereo silence" (APE_FRAMECODE_STEREO_SILENCE): a legal file that needs no range coder to
 * write, since ffmpeg has an APE decoder but no encoder and Debian ships no `mac`.
 */
export async function writeSilentApe(out: string, sampleRate: number): Promise<void> {
  const blocksPerFrame = 73728;
  const totalFrames = 1;
  const finalFrameBlocks = sampleRate; // 1 s
  const frame = Buffer.alloc(12);
  frame.writeUInt32LE(0x80000000, 0); // CRC with the high bit set: frame flags follow (words are little-endian)
  frame.writeUInt32LE(3, 4); // APE_FRAMECODE_STEREO_SILENCE
  const descriptorBytes = 52;
  const headerBytes = 24;
  const seekTableBytes = 4 * totalFrames;
  const descriptor = Buffer.alloc(descriptorBytes);
  descriptor.write("MAC ", 0, "latin1");
  descriptor.writeUInt16LE(3990, 4);
  descriptor.writeUInt32LE(descriptorBytes, 8);
  descriptor.writeUInt32LE(headerBytes, 12);
  descriptor.writeUInt32LE(seekTableBytes, 16);
  descriptor.writeUInt32LE(0, 20); // no WAV header stored
  descriptor.writeUInt32LE(frame.length, 24); // APE frame data bytes
  descriptor.writeUInt32LE(0, 28);
  descriptor.writeUInt32LE(0, 32); // terminating data
  const header = Buffer.alloc(headerBytes);
  header.writeUInt16LE(2000, 0); // compression: normal
  header.writeUInt16LE(0, 2); // format flags
  header.writeUInt32LE(blocksPerFrame, 4);
  header.writeUInt32LE(finalFrameBlocks, 8);
  header.writeUInt32LE(totalFrames, 12);
  header.writeUInt16LE(16, 16);
  header.writeUInt16LE(2, 18);
  header.writeUInt32LE(sampleRate, 20);
  const seekTable = Buffer.alloc(seekTableBytes);
  seekTable.writeUInt32LE(descriptorBytes + headerBytes + seekTableBytes, 0);
  await writeFile(out, Buffer.concat([descriptor, header, seekTable, frame]));
}

/**
 * QuickTime as older cameras write it: no `ftyp`, the file starts with `wide`, `free` or
 * `mdat`. ffmpeg's mov muxer writes ftyp, wide, mdat, moov; the ftyp box is renamed `free`
 * (same size, so chunk offsets stay right), or removed by letting an `mdat` header at offset
 * 0 swallow ftyp and wide, or turned into a `wide` box of its size.
 */
async function writeQuickTime(out: string, first: "wide" | "free" | "mdat"): Promise<void> {
  await lavfiVideo(out, ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "mov"]);
  const bytes = await readFile(out);
  if (bytes.toString("latin1", 4, 8) !== "ftyp") throw new Error("expected ffmpeg's mov to start with ftyp");
  const ftypSize = bytes.readUInt32BE(0);
  if (first === "mdat") {
    let offset = ftypSize;
    while (bytes.toString("latin1", offset + 4, offset + 8) !== "mdat") offset += bytes.readUInt32BE(offset);
    const mdatEnd = offset + bytes.readUInt32BE(offset);
    bytes.writeUInt32BE(mdatEnd, 0);
    bytes.write("mdat", 4, "latin1");
  } else {
    bytes.write(first, 4, "latin1");
  }
  await writeFile(out, bytes);
}

/**
 * A program stream whose first pack header was cut away (a stream grabbed mid-way, a VOB
 * split by a tool that does not care for packs): it starts with the system header or a PES packet.
 */
async function writeCutProgramStream(out: string): Promise<void> {
  await lavfiVideo(out, ["-c:v", "mpeg2video", "-b:v", "800k", "-c:a", "mp2", "-f", "vob"]);
  const bytes = await readFile(out);
  // MPEG-2 pack header: 14 bytes plus stuffing (low 3 bits of byte 13).
  const packLength = 14 + (bytes[13]! & 0x07);
  await writeFile(out, bytes.subarray(packLength));
}
