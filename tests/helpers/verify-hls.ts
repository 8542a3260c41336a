import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parseMediaPlaylist } from "../../src/processors/video/master-playlist.ts";

const run = promisify(execFile);

/**
 * Checks an HLS tree on disk the way a player would meet it, with the real ffprobe/ffmpeg
 * (reading our own outputs, so the hls demuxer is fine here): the master lists every rung,
 * each rung decodes without an error, its duration matches the source within a segment, every
 * segment starts with a keyframe, and all rungs cut their segments at the same times.
 */
export interface VerifiedRung {
  uri: string;
  attributes: Record<string, string>;
  width: number | undefined;
  height: number | undefined;
  hasVideo: boolean;
  hasAudio: boolean;
  durationSec: number;
  segmentDurations: number[];
}

export async function verifyHlsTree(
  masterPath: string,
  expected: { sourceDurationSec: number; segmentSeconds: number },
): Promise<VerifiedRung[]> {
  const master = await readFile(masterPath, "utf8");
  assert.match(master, /^#EXTM3U\n/);
  const lines = master.split("\n");
  const rungs: VerifiedRung[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (!line.startsWith("#EXT-X-STREAM-INF:")) continue;
    const attributes = parseAttributes(line.slice("#EXT-X-STREAM-INF:".length));
    const uri = lines[index + 1]!;
    rungs.push(await verifyRung(path.join(path.dirname(masterPath), uri), uri, attributes, expected));
  }
  assert.ok(rungs.length > 0, "the master playlist lists no rendition");
  for (const line of lines.filter((candidate) => candidate.startsWith("#EXT-X-I-FRAME-STREAM-INF:"))) {
    const attributes = parseAttributes(line.slice("#EXT-X-I-FRAME-STREAM-INF:".length));
    const rung = rungs.find((candidate) => candidate.uri.split("/")[0] === attributes["URI"]!.split("/")[0]);
    assert.ok(rung?.hasVideo, `${attributes["URI"]} belongs to no video rendition`);
    await verifyIFramePlaylist(path.join(path.dirname(masterPath), attributes["URI"]!), attributes, rung);
  }
  const videoRungs = rungs.filter((rung) => rung.hasVideo);
  for (const rung of videoRungs) {
    assert.deepEqual(
      rung.segmentDurations,
      videoRungs[0]!.segmentDurations,
      `segment boundaries of ${rung.uri} differ from ${videoRungs[0]!.uri}`,
    );
  }
  return rungs;
}

function parseAttributes(list: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const match of list.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g))
    attributes[match[1]!] = match[2]!.replace(/^"|"$/g, "");
  return attributes;
}

async function verifyRung(
  playlistPath: string,
  uri: string,
  attributes: Record<string, string>,
  expected: { sourceDurationSec: number; segmentSeconds: number },
): Promise<VerifiedRung> {
  const playlist = parseMediaPlaylist(await readFile(playlistPath, "utf8"));
  assert.ok(playlist.ended, `${uri} is not a finished VOD playlist`);
  assert.ok(playlist.segments.length > 0, `${uri} has no segments`);
  for (const name of ["BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS"]) assert.ok(attributes[name], `${uri} lacks ${name}`);

  // The whole rung decodes without one error line.
  const decoded = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", playlistPath, "-f", "null", "-"]);
  assert.equal(decoded.stderr.trim(), "", `decoding ${uri} printed errors`);

  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-print_format",
    "json",
    "-show_format",
    "-show_streams",
    playlistPath,
  ]);
  const probe = JSON.parse(stdout) as {
    format: { duration?: string };
    streams: Array<{ codec_type: string; width?: number; height?: number }>;
  };
  const video = probe.streams.find((stream) => stream.codec_type === "video");
  const durationSec = Number(
    probe.format.duration ?? playlist.segments.reduce((sum, segment) => sum + segment.durationSec, 0),
  );
  assert.ok(
    Math.abs(durationSec - expected.sourceDurationSec) <= expected.segmentSeconds,
    `${uri} lasts ${durationSec} s, the source ${expected.sourceDurationSec} s`,
  );
  if (video) {
    await assertSegmentsStartWithKeyframes(
      path.dirname(playlistPath),
      playlist.initUri,
      playlist.segments.map((segment) => segment.uri),
      uri,
    );
    // CODECS names the profile and level the bitstream itself declares (what a player checks).
    const declared = await avc1FromBitstream(path.dirname(playlistPath), playlist.initUri ?? playlist.segments[0]!.uri);
    assert.equal(
      attributes["CODECS"]?.split(",")[0],
      declared,
      `${uri}: CODECS says ${attributes["CODECS"]}, the stream is ${declared}`,
    );
    // FRAME-RATE is the rung's real rate: its frames over its duration.
    const counted = await run("ffprobe", [
      "-v",
      "error",
      "-count_packets",
      "-select_streams",
      "v:0",
      "-show_entries",
      "stream=nb_read_packets",
      "-of",
      "csv=p=0",
      playlistPath,
    ]);
    const realRate = Number(counted.stdout.trim().split("\n")[0]) / durationSec;
    const stated = Number(attributes["FRAME-RATE"]);
    assert.ok(
      Math.abs(stated - realRate) <= realRate * 0.03,
      `${uri}: FRAME-RATE=${attributes["FRAME-RATE"]} but ${counted.stdout.trim()} frames in ${durationSec} s is ${realRate.toFixed(3)} fps`,
    );
  }
  return {
    uri,
    attributes,
    width: video?.width,
    height: video?.height,
    hasVideo: video !== undefined,
    hasAudio: probe.streams.some((stream) => stream.codec_type === "audio"),
    durationSec,
    segmentDurations: playlist.segments.map((segment) => Math.round(segment.durationSec * 100) / 100),
  };
}

/**
 * An I-frame playlist as a scrubbing player reads it: every entry, its EXT-X-MAP bytes (PAT/PMT)
 * followed by its byte range, is one keyframe that decodes on its own at the rung's size, and
 * the entries cover the rung's duration.
 */
async function verifyIFramePlaylist(
  playlistPath: string,
  attributes: Record<string, string>,
  rung: VerifiedRung,
): Promise<void> {
  const text = await readFile(playlistPath, "utf8");
  assert.match(text, /#EXT-X-I-FRAMES-ONLY/);
  assert.match(text, /#EXT-X-ENDLIST/);
  assert.equal(
    attributes["CODECS"],
    rung.attributes["CODECS"]?.split(",")[0],
    "the I-frame stream names the rung's video codec only",
  );
  const folder = path.dirname(playlistPath);
  const scratch = await mkdtemp(path.join(os.tmpdir(), "mp-iframes-"));
  try {
    let map: { uri: string; length: number } | undefined;
    let pending: { durationSec: number; range?: { length: number; offset: number } } | undefined;
    let total = 0;
    let entries = 0;
    for (const line of text.split("\n")) {
      const mapMatch = /^#EXT-X-MAP:URI="([^"]+)",BYTERANGE="(\d+)@0"/.exec(line);
      if (mapMatch) map = { uri: mapMatch[1]!, length: Number(mapMatch[2]) };
      else if (line.startsWith("#EXTINF:")) pending = { durationSec: Number.parseFloat(line.slice(8)) };
      else if (line.startsWith("#EXT-X-BYTERANGE:") && pending) {
        const [length, offset] = line.slice(17).split("@").map(Number);
        pending.range = { length: length!, offset: offset! };
      } else if (line && !line.startsWith("#") && pending?.range) {
        const segment = await readFile(path.join(folder, line));
        assert.equal(map?.uri, line, "each segment's PAT/PMT is mapped before its keyframes");
        const file = path.join(scratch, `iframe-${entries}.ts`);
        await writeFile(
          file,
          Buffer.concat([
            segment.subarray(0, map!.length),
            segment.subarray(pending.range.offset, pending.range.offset + pending.range.length),
          ]),
        );
        const { stdout } = await run("ffprobe", [
          "-v",
          "error",
          "-select_streams",
          "v:0",
          "-show_entries",
          "packet=flags:stream=width,height",
          "-of",
          "json",
          file,
        ]);
        const probe = JSON.parse(stdout) as {
          packets: Array<{ flags: string }>;
          streams: Array<{ width: number; height: number }>;
        };
        assert.match(probe.packets[0]?.flags ?? "", /^K/, `${line} @${pending.range.offset} is not a keyframe`);
        assert.deepEqual([probe.streams[0]?.width, probe.streams[0]?.height], [rung.width, rung.height]);
        const decoded = await run("ffmpeg", [
          "-nostdin",
          "-v",
          "error",
          "-i",
          file,
          "-frames:v",
          "1",
          "-f",
          "null",
          "-",
        ]);
        assert.equal(
          decoded.stderr.trim(),
          "",
          `the keyframe at ${line} @${pending.range.offset} does not decode alone`,
        );
        total += pending.durationSec;
        entries += 1;
        pending = undefined;
      }
    }
    assert.ok(entries > 0, `${playlistPath} lists no I-frame`);
    assert.ok(Math.abs(total - rung.durationSec) <= 0.2, `the I-frames cover ${total} s of ${rung.durationSec} s`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * `avc1.PPCCLL` from the H.264 configuration as stored: the fMP4 init segment's avcC box, or
 * the first SPS NAL unit (type 7) of a TS segment (RFC 6381 §3.3: profile_idc, the constraint
 * flags byte, level_idc).
 */
async function avc1FromBitstream(folder: string, file: string): Promise<string> {
  const bytes = await readFile(path.join(folder, file));
  const hex = (offset: number) =>
    [0, 1, 2].map((index) => bytes[offset + index]!.toString(16).padStart(2, "0")).join("");
  const avcC = bytes.indexOf("avcC", 0, "latin1");
  if (avcC >= 0) return `avc1.${hex(avcC + 5)}`;
  for (let offset = 0; offset + 7 < bytes.length; offset += 1) {
    if (bytes[offset] === 0 && bytes[offset + 1] === 0 && bytes[offset + 2] === 1 && (bytes[offset + 3]! & 0x1f) === 7)
      return `avc1.${hex(offset + 4)}`;
  }
  throw new Error(`${file} holds no H.264 configuration`);
}

/** The first video packet of every segment must be a keyframe (flags start with K). */
async function assertSegmentsStartWithKeyframes(
  folder: string,
  initUri: string | undefined,
  segments: string[],
  uri: string,
): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), "mp-verify-"));
  try {
    for (const segment of segments) {
      let file = path.join(folder, segment);
      if (initUri) {
        // An fMP4 media segment is only decodable behind its init segment.
        file = path.join(scratch, "joined.mp4");
        await writeFile(
          file,
          Buffer.concat([await readFile(path.join(folder, initUri)), await readFile(path.join(folder, segment))]),
        );
      }
      const { stdout } = await run("ffprobe", [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=flags",
        "-read_intervals",
        "%+#1",
        "-of",
        "csv=p=0",
        file,
      ]);
      assert.match(stdout.trim().split("\n")[0] ?? "", /^K/, `${uri}: ${segment} does not start with a keyframe`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
