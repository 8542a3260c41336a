import assert from "node:assert/strict";
import { test } from "node:test";
import { buildIFramePlaylist } from "../../src/processors/video/iframe-playlist.ts";
import { buildMasterPlaylist } from "../../src/processors/video/master-playlist.ts";
import { tsKeyframeIndex } from "../../src/processors/video/ts-keyframes.ts";

/** One 188-byte TS packet: PID, payload-unit-start, optional random-access flag, payload. */
function tsPacket(pid: number, options: { start?: boolean; randomAccess?: boolean; payload?: number[] } = {}): Buffer {
  const packet = Buffer.alloc(188, 0xff);
  packet[0] = 0x47;
  packet[1] = (options.start ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  packet[2] = pid & 0xff;
  if (options.randomAccess) {
    packet[3] = 0x30; // adaptation field + payload
    packet[4] = 1;
    packet[5] = 0x40;
    Buffer.from(options.payload ?? []).copy(packet, 6);
  } else {
    packet[3] = 0x10;
    Buffer.from(options.payload ?? []).copy(packet, 4);
  }
  return packet;
}
/** A PES header with a PTS of `seconds` (90 kHz). */
function pes(seconds: number): number[] {
  const pts = Math.round(seconds * 90_000);
  return [
    0,
    0,
    1,
    0xe0,
    0,
    0,
    0x80,
    0x80,
    5,
    0x21 | ((pts / 2 ** 29) & 0x0e),
    (pts >> 22) & 0xff,
    ((pts >> 14) & 0xfe) | 1,
    (pts >> 7) & 0xff,
    ((pts << 1) & 0xfe) | 1,
  ];
}
const PAT = [0, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0, 0, 0]; // program 1 → PMT PID 0x1000
const PMT = [0, 0x02, 0xb0, 18, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0, 0x1b, 0xe1, 0x00, 0xf0, 0, 0, 0, 0, 0]; // H.264 on PID 0x100

test("the keyframe index of a TS segment: PAT/PMT end, each keyframe's offset, length up to the next video PES, and PTS", () => {
  const segment = Buffer.concat([
    tsPacket(0, { start: true, payload: PAT }),
    tsPacket(0x1000, { start: true, payload: PMT }),
    tsPacket(0x100, { start: true, randomAccess: true, payload: pes(1.4) }),
    tsPacket(0x100),
    tsPacket(0x101, { start: true }),
    tsPacket(0x100, { start: true, payload: pes(1.44) }),
    tsPacket(0x100, { start: true, randomAccess: true, payload: pes(3.4) }),
    tsPacket(0x100),
  ]);
  const index = tsKeyframeIndex(segment);
  assert.equal(index.initLength, 376);
  assert.deepEqual(
    index.keyframes.map(({ offset, length }) => [offset, length]),
    [
      [376, 564],
      [1128, 376],
    ],
  );
  assert.deepEqual(
    index.keyframes.map((keyframe) => Math.round(keyframe.ptsSec * 1000)),
    [1400, 3400],
  );
});

test("the I-frame playlist: byte ranges behind each segment's PAT/PMT, durations to the next keyframe, version 5; the master lists it", () => {
  const keyframes = (pts: number[]) =>
    pts.map((ptsSec, index) => ({ offset: 376 + index * 1000, length: 500, ptsSec }));
  const built = buildIFramePlaylist(
    [
      { uri: "segment_00000.ts", durationSec: 6, index: { initLength: 376, keyframes: keyframes([1.4, 3.4, 5.4]) } },
      { uri: "segment_00001.ts", durationSec: 1.5, index: { initLength: 376, keyframes: keyframes([7.4]) } },
    ],
    2,
  );
  assert.equal(
    built.text,
    [
      "#EXTM3U",
      "#EXT-X-VERSION:5",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-MEDIA-SEQUENCE:0",
      "#EXT-X-PLAYLIST-TYPE:VOD",
      "#EXT-X-I-FRAMES-ONLY",
      '#EXT-X-MAP:URI="segment_00000.ts",BYTERANGE="376@0"',
      "#EXTINF:2.000000,",
      "#EXT-X-BYTERANGE:500@376",
      "segment_00000.ts",
      "#EXTINF:2.000000,",
      "#EXT-X-BYTERANGE:500@1376",
      "segment_00000.ts",
      "#EXTINF:2.000000,",
      "#EXT-X-BYTERANGE:500@2376",
      "segment_00000.ts",
      '#EXT-X-MAP:URI="segment_00001.ts",BYTERANGE="376@0"',
      "#EXTINF:1.500000,",
      "#EXT-X-BYTERANGE:500@376",
      "segment_00001.ts",
      "#EXT-X-ENDLIST",
      "",
    ].join("\n"),
  );
  assert.deepEqual(
    [built.count, built.bandwidth, built.averageBandwidth],
    [4, Math.ceil(4000 / 1.5), Math.ceil((4 * 500 * 8) / 7.5)],
  );
  const master = buildMasterPlaylist(
    [
      {
        uri: "360p/index.m3u8",
        bandwidth: 1000,
        averageBandwidth: 900,
        codecs: ["avc1.64001e", "mp4a.40.2"],
        resolution: { width: 640, height: 360 },
        frameRate: 25,
      },
    ],
    6,
    [
      {
        uri: "360p/iframes.m3u8",
        bandwidth: built.bandwidth,
        averageBandwidth: built.averageBandwidth,
        codecs: ["avc1.64001e"],
        resolution: { width: 640, height: 360 },
      },
    ],
  );
  assert.match(
    master,
    /\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=2667,AVERAGE-BANDWIDTH=2134,RESOLUTION=640x360,CODECS="avc1\.64001e",URI="360p\/iframes\.m3u8"\n$/,
  );
});
