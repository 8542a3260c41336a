import assert from "node:assert/strict";
import { test } from "node:test";
import { detectFromBytes } from "../../src/media/detect-type.ts";

/** Type detection from bytes, never from names (src/media/detect-type.ts). */

const ftyp = (brand: string, compatible: string) =>
  Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(`ftyp${brand}\0\0\0\0${brand}${compatible}`)]);

const adtsFrame = (length: number) => {
  const frame = Buffer.alloc(length);
  frame.set([
    0xff,
    0xf1,
    0x50,
    0x80 | ((length >> 11) & 0x03),
    (length >> 3) & 0xff,
    ((length & 0x07) << 5) | 0x1f,
    0xfc,
  ]);
  return frame;
};

test("type detection reads signatures: JPEG, PDF, SVG", () => {
  assert.equal(detectFromBytes(Buffer.from([0xff, 0xd8, 0xff, 0xe0])).format, "jpeg");
  assert.equal(detectFromBytes(Buffer.from("%PDF-1.7\n")).format, "pdf");
  assert.equal(detectFromBytes(Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'></svg>")).format, "svg");
});

test("type detection recognises playlists and concat lists (never opened by ffmpeg)", () => {
  assert.equal(detectFromBytes(Buffer.from("#EXTM3U\n#EXT-X-VERSION:3\nfile:///etc/passwd\n")).kind, "playlist");
  assert.equal(detectFromBytes(Buffer.from("ffconcat version 1.0\nfile /etc/passwd\n")).kind, "playlist");
});

test("type detection tells ISO-BMFF files apart by brand: AVIF, HEIF, M4A audio, MP4 video", () => {
  assert.equal(detectFromBytes(ftyp("avif", "mif1")).format, "avif");
  assert.equal(detectFromBytes(ftyp("heic", "mif1")).format, "heif");
  assert.equal(detectFromBytes(ftyp("M4A ", "isom")).kind, "audio");
  assert.equal(detectFromBytes(ftyp("isom", "mp41")).kind, "video");
});

test("type detection recognises RIFF WAVE", () => {
  assert.equal(detectFromBytes(Buffer.from("RIFF\0\0\0\0WAVEfmt ")).format, "wav");
});

test("type detection calls plain text unknown", () => {
  assert.equal(detectFromBytes(Buffer.from("just some text")).kind, "unknown");
});

test("type detection recognises ADTS AAC by two chained frames, and a lone sync word followed by noise is not ADTS", () => {
  assert.equal(detectFromBytes(Buffer.concat([adtsFrame(200), adtsFrame(180)])).format, "aac");
  assert.equal(
    detectFromBytes(Buffer.concat([adtsFrame(200).subarray(0, 7), Buffer.alloc(400, 0x11)])).format,
    "unknown",
  );
});

test("type detection recognises AMR and AMR-WB, and names multi-channel AMR as unsupported", () => {
  assert.equal(detectFromBytes(Buffer.from("#!AMR\n\x3c", "latin1")).format, "amr");
  assert.equal(detectFromBytes(Buffer.from("#!AMR-WB\n\x44", "latin1")).mime, "audio/amr-wb");
  assert.deepEqual(detectFromBytes(Buffer.from("#!AMR_MC1.0\n", "latin1")).unsupported, "Multi-channel AMR");
});

test("type detection recognises AIFF-C, and another IFF form (ILBM) is not audio", () => {
  assert.equal(detectFromBytes(Buffer.from("FORM\0\0\0\x20AIFCFVER", "latin1")).format, "aiff");
  assert.equal(detectFromBytes(Buffer.from("FORM\0\0\0\x20ILBMBMHD", "latin1")).format, "unknown");
});

test("type detection recognises BW64 (RF64-style) as WAV", () => {
  assert.equal(detectFromBytes(Buffer.from("BW64\xff\xff\xff\xffWAVEds64", "latin1")).format, "wav");
});

test("type detection recognises WavPack, Monkey's Audio, DSF, CAF and FLV", () => {
  assert.equal(detectFromBytes(Buffer.from("wvpk\x20\0\0\0", "latin1")).format, "wavpack");
  assert.equal(detectFromBytes(Buffer.from("MAC \x96\x0f", "latin1")).format, "ape");
  assert.equal(
    detectFromBytes(Buffer.concat([Buffer.from("DSD ", "latin1"), Buffer.from([28, 0, 0, 0, 0, 0, 0, 0])])).format,
    "dsf",
  );
  assert.equal(detectFromBytes(Buffer.from("caff\x00\x01\x00\x00desc", "latin1")).format, "caf");
  assert.equal(detectFromBytes(Buffer.from("FLV\x01\x05\0\0\0\x09", "latin1")).format, "flv");
});

test("type detection recognises QuickTime without ftyp by its first atom, and an implausible atom size is not QuickTime", () => {
  assert.equal(detectFromBytes(Buffer.from("\0\0\0\x08wide\0\0\x10\0mdat", "latin1")).format, "mov");
  assert.equal(detectFromBytes(Buffer.from("\0\0\0\x04free", "latin1")).format, "unknown");
});

test("type detection recognises MPEG: a sequence header (elementary stream), pack headers and PES packets (program stream)", () => {
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0xb3, 0x14, 0x00, 0xf0])).format, "mpegvideo");
  assert.equal(detectFromBytes(Buffer.from([0, 0, 0, 0, 1, 0xba, 0x44])).format, "mpeg");
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0xe0, 0x07, 0xec])).format, "mpeg");
});

test("type detection does not take an H.264 NAL start code for an MPEG stream", () => {
  assert.equal(detectFromBytes(Buffer.from([0, 0, 1, 0x67, 0x64])).format, "unknown");
});
