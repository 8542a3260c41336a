import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { createVideoProcessor } from "../../src/processors/video.processor.ts";
import { generateClip, generateHdrClip, type HdrClipOptions } from "../helpers/generate-video.ts";
import { processLocally, testConfig, type LocalRun, LOCAL_RUN } from "../helpers/process-locally.ts";
import { verifyHlsTree } from "../helpers/verify-hls.ts";

/**
 * HDR phone video (HEVC 10-bit, PQ or HLG, BT.2020) through the real video processor and
 * ffmpeg: every output is 8-bit yuv420p H.264 tagged BT.709, and the pixels show it was
 * tone-mapped, not passed through.
 *
 * The luma check, measured with ffmpeg 5.1 on a flat frame at PQ code 509 (100 nits):
 * tone-mapped (zscale + Möbius) the decoded RGB grey is 214 in the rendition, poster and
 * storyboard (Hable gave 156); passed through as before, Y is 127 and RGB 129. The threshold
 * sits between them, and the VIDEO_HDR_TONE_MAP=false test shows the same check failing.
 */

const run = promisify(execFile);
const BASE_ENV = { VIDEO_X264_PRESET: "ultrafast", VIDEO_HLS_SEGMENT_SECONDS: "1" };
/** Decoded RGB grey of the 100-nit frame: 214 tone-mapped, 129 passed through. */
const BRIGHT_GREY_THRESHOLD = 142;

let dir: string;
const runs: LocalRun[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-hdr-"));
});
after(async () => {
  await Promise.all(runs.map((local) => local.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

async function processHdrClip(
  name: string,
  clip: Omit<HdrClipOptions, "out">,
  env: Record<string, string> = {},
): Promise<LocalRun> {
  const file = await generateHdrClip({ ...clip, out: path.join(dir, name) });
  const config = testConfig({ ...BASE_ENV, ...env });
  const local = await processLocally(createVideoProcessor(config), file, {
    config,
    sourceKey: `tenants/t1/users/u1/media/${name}`,
  });
  runs.push(local);
  return local;
}

const base = (name: string) => `tenants/t1/users/u1/media/processed/${name}.${LOCAL_RUN}`;

/** Codec, pixel format and colour tags of a file's first video stream, as ffprobe reads them from the H.264 VUI. */
async function videoTags(file: string): Promise<Record<string, string>> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,pix_fmt,color_primaries,color_transfer,color_space,color_range",
    "-of",
    "json",
    file,
  ]);
  const stream = (JSON.parse(stdout) as { streams: Array<Record<string, string>> }).streams[0];
  assert.ok(stream, `${file} has a video stream`);
  return stream;
}

const BT709_H264 = {
  codec_name: "h264",
  pix_fmt: "yuv420p",
  color_primaries: "bt709",
  color_transfer: "bt709",
  color_space: "bt709",
  color_range: "tv",
};
const tagsOnly = (tags: Record<string, string>) =>
  Object.fromEntries(Object.keys(BT709_H264).map((key) => [key, tags[key]]));

/** First frame of a rendition (playlist or file) as PNG: what a player shows. */
async function firstFrame(input: string, name: string): Promise<string> {
  const frame = path.join(dir, `${name}.png`);
  await runFfmpeg({ args: ["-i", input, "-frames:v", "1", "-y", frame], trustedInputs: true });
  return frame;
}

async function meanGrey(image: string): Promise<number> {
  const { channels } = await sharp(image).stats();
  return Math.round(channels.slice(0, 3).reduce((sum, channel) => sum + channel.mean, 0) / 3);
}

/** Mean RGB of a small box at fractions of the image's width and height. */
async function colourAt(file: string, fx: number, fy: number): Promise<[number, number, number]> {
  const image = sharp(file);
  const { width = 0, height = 0 } = await image.metadata();
  const { data } = await image
    .extract({ left: Math.round(width * fx) - 2, top: Math.round(height * fy) - 2, width: 4, height: 4 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return [0, 1, 2].map((channel) =>
    Math.round(
      Array.from({ length: 16 }, (_, pixel) => data[pixel * 3 + channel]!).reduce((sum, value) => sum + value, 0) / 16,
    ),
  ) as [number, number, number];
}
/** testsrc2's red bar after a right tone map (~200,10,10); a pass-through of HLG gives a pale brick (~170,80,50). */
const isSaturatedRed = ([r, g, b]: [number, number, number]) => r > 150 && g < 50 && b < 50;

interface HdrMetadata {
  toneMapped: boolean;
  video: {
    hdr: string | null;
    bitDepth: number;
    colorTransfer: string;
    colorPrimaries: string;
    colorSpace: string;
    colorRange: string;
  };
}

describe("HDR sources become SDR BT.709", () => {
  test("a 100-nit PQ (HDR10) frame comes out bright in every rung, the poster and the storyboard, tagged BT.709", async (t) => {
    const name = "pq-flat.mp4";
    const local = await processHdrClip(
      name,
      { transfer: "pq", width: 640, height: 360, durationSec: 2, content: { flatLuma10: 509 } },
      { VIDEO_STORYBOARD: "true" },
    );
    const master = local.files.get(`${base(name)}/hls/master.m3u8`)!;
    await verifyHlsTree(master, { sourceDurationSec: 2, segmentSeconds: 1 });
    const segment = local.files.get(`${base(name)}/hls/360p/segment_00000.ts`)!;
    assert.deepEqual(tagsOnly(await videoTags(segment)), BT709_H264);

    const rendition = await meanGrey(
      await firstFrame(path.join(path.dirname(master), "360p", "index.m3u8"), "pq-flat-rung"),
    );
    const poster = await meanGrey(local.files.get(`${base(name)}_poster.jpg`)!);
    const sprite = await meanGrey(local.files.get(`${base(name)}/storyboard/sprite.jpg`)!);
    t.diagnostic(
      `tone-mapped grey: rendition ${rendition}, poster ${poster}, storyboard ${sprite} (threshold ${BRIGHT_GREY_THRESHOLD})`,
    );
    assert.ok(rendition > BRIGHT_GREY_THRESHOLD, `rendition grey ${rendition}`);
    assert.ok(poster > BRIGHT_GREY_THRESHOLD, `poster grey ${poster}`);
    assert.ok(sprite > BRIGHT_GREY_THRESHOLD, `storyboard grey ${sprite}`);

    const metadata = local.result.metadata as unknown as HdrMetadata;
    assert.equal(metadata.toneMapped, true);
    assert.deepEqual(metadata.video, {
      ...metadata.video,
      hdr: "pq",
      bitDepth: 10,
      colorTransfer: "smpte2084",
      colorPrimaries: "bt2020",
      colorSpace: "bt2020nc",
      colorRange: "tv",
    });
    assert.equal(local.steps.find((step) => step.event === "encoded")?.detail?.["toneMapped"], true);
  });

  test("with VIDEO_HDR_TONE_MAP=false the same frame passes through as before: dim and still tagged PQ", async (t) => {
    const name = "pq-flat-off.mp4";
    const local = await processHdrClip(
      name,
      { transfer: "pq", width: 640, height: 360, durationSec: 2, content: { flatLuma10: 509 } },
      { VIDEO_HDR_TONE_MAP: "false" },
    );
    const master = local.files.get(`${base(name)}/hls/master.m3u8`)!;
    const rendition = await meanGrey(
      await firstFrame(path.join(path.dirname(master), "360p", "index.m3u8"), "pq-flat-off-rung"),
    );
    const poster = await meanGrey(local.files.get(`${base(name)}_poster.jpg`)!);
    t.diagnostic(`passed-through grey: rendition ${rendition}, poster ${poster}`);
    assert.ok(
      rendition < BRIGHT_GREY_THRESHOLD && poster < BRIGHT_GREY_THRESHOLD,
      "the brightness check tells a pass-through apart",
    );
    // ffmpeg 5.1 copies the source's tags onto the 8-bit output: this is what tone mapping fixes.
    const tags = await videoTags(local.files.get(`${base(name)}/hls/360p/segment_00000.ts`)!);
    assert.deepEqual([tags["color_transfer"], tags["color_primaries"]], ["smpte2084", "bt2020"]);
    const metadata = local.result.metadata as unknown as HdrMetadata;
    assert.deepEqual([metadata.toneMapped, metadata.video.hdr], [false, "pq"]);
  });

  test("an HLG clip (iPhone HDR) as a web MP4 keeps saturated colours, which a pass-through turns pale", async (t) => {
    const clip = { transfer: "hlg", width: 640, height: 360, durationSec: 2, content: "pattern" } as const;
    const env = { ENABLE_HLS_TRANSCODING: "false" };
    const mapped = await processHdrClip("hlg.mp4", clip, env);
    const passed = await processHdrClip("hlg-off.mp4", clip, { ...env, VIDEO_HDR_TONE_MAP: "false" });
    const mp4 = mapped.files.get(`${base("hlg.mp4")}_web.mp4`)!;
    assert.deepEqual(tagsOnly(await videoTags(mp4)), BT709_H264);

    const mappedRed = await colourAt(await firstFrame(mp4, "hlg-mp4"), 0.05, 0.5);
    const mappedPosterRed = await colourAt(mapped.files.get(`${base("hlg.mp4")}_poster.jpg`)!, 0.05, 0.5);
    const passedRed = await colourAt(
      await firstFrame(passed.files.get(`${base("hlg-off.mp4")}_web.mp4`)!, "hlg-off-mp4"),
      0.05,
      0.5,
    );
    t.diagnostic(`red bar: tone-mapped mp4 ${mappedRed}, poster ${mappedPosterRed}; passed through ${passedRed}`);
    assert.ok(isSaturatedRed(mappedRed), `tone-mapped red ${mappedRed}`);
    assert.ok(isSaturatedRed(mappedPosterRed), `poster red ${mappedPosterRed}`);
    assert.ok(!isSaturatedRed(passedRed), `passed-through red ${passedRed} is pale`);
    assert.deepEqual(
      [
        (mapped.result.metadata as unknown as HdrMetadata).video.hdr,
        (mapped.result.metadata as unknown as HdrMetadata).toneMapped,
      ],
      ["hlg", true],
    );
  });

  test("a rotated HDR phone video is tone-mapped and upright", async () => {
    const name = "pq-rotated.mp4";
    const local = await processHdrClip(name, {
      transfer: "pq",
      width: 1280,
      height: 720,
      durationSec: 2,
      content: "pattern",
      rotateDeg: 90,
    });
    const master = local.files.get(`${base(name)}/hls/master.m3u8`)!;
    const rungs = await verifyHlsTree(master, { sourceDurationSec: 2, segmentSeconds: 1 });
    assert.deepEqual(
      rungs.map((rung) => `${rung.width}x${rung.height}`),
      ["480x854", "720x1280"],
    );
    const frame = await firstFrame(path.join(path.dirname(master), "720p", "index.m3u8"), "pq-rotated-rung");
    // As for SDR (video-processor.test.ts): ffmpeg 5.1 turns the tagged clip counter-clockwise, so red ends at the bottom.
    assert.ok(isSaturatedRed(await colourAt(frame, 0.5, 0.95)), "saturated red bar at the bottom");
    assert.ok(isSaturatedRed(await colourAt(local.files.get(`${base(name)}_poster.jpg`)!, 0.5, 0.95)));
  });

  test("an odd-sized 4:4:4 HDR source is scaled to even sides before the tone map", async () => {
    const name = "pq-odd.mkv";
    const local = await processHdrClip(name, {
      transfer: "pq",
      width: 1279,
      height: 721,
      durationSec: 2,
      content: "pattern",
      chroma444: true,
    });
    const rungs = await verifyHlsTree(local.files.get(`${base(name)}/hls/master.m3u8`)!, {
      sourceDurationSec: 2,
      segmentSeconds: 1,
    });
    assert.deepEqual(
      rungs.map((rung) => `${rung.width}x${rung.height}`),
      ["852x480", "1278x720"],
    );
    assert.deepEqual(
      tagsOnly(await videoTags(local.files.get(`${base(name)}/hls/720p/segment_00000.ts`)!)),
      BT709_H264,
    );
  });
});

describe("SDR sources are untouched", () => {
  test("an SDR clip's own colour tags are carried through as before, and nothing is tone-mapped", async () => {
    const name = "sdr-601.mp4";
    const source = await generateClip({
      width: 640,
      height: 360,
      durationSec: 1,
      audio: false,
      out: path.join(dir, "sdr-plain.mp4"),
    });
    // Re-tag as BT.601 (a common camera/phone SDR tag) without re-encoding.
    const file = path.join(dir, name);
    await runFfmpeg({
      args: [
        "-i",
        source,
        "-c",
        "copy",
        "-bsf:v",
        "h264_metadata=colour_primaries=6:transfer_characteristics=6:matrix_coefficients=6:video_full_range_flag=0",
        "-y",
        file,
      ],
      trustedInputs: true,
    });
    const config = testConfig(BASE_ENV);
    const local = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}`,
    });
    runs.push(local);
    const tags = await videoTags(local.files.get(`${base(name)}/hls/360p/segment_00000.ts`)!);
    assert.deepEqual(
      [tags["color_primaries"], tags["color_transfer"], tags["color_space"]],
      ["smpte170m", "smpte170m", "smpte170m"],
    );
    const metadata = local.result.metadata as unknown as HdrMetadata;
    assert.deepEqual([metadata.toneMapped, metadata.video.hdr, metadata.video.bitDepth], [false, null, 8]);
  });
});
