import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bitDepthOf, hdrOf, summariseProbe, type FfprobeOutput } from "../../src/media/ffprobe.ts";
import { VIDEO_DEMUXERS } from "../../src/media/safe-input.ts";
import { videoFilterGraph } from "../../src/processors/video/encode-options.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";
import { webMp4Args } from "../../src/processors/video/mp4-command.ts";
import { posterFrameArgs } from "../../src/processors/video/poster.ts";
import { planStoryboard, storyboardArgs } from "../../src/processors/video/storyboard.ts";
import { BT709_TAGS, toneMapFilters, toneMapSourceOf } from "../../src/processors/video/tone-map.ts";
import { testConfig } from "../helpers/process-locally.ts";

const RUNGS = testConfig().video.rungs;
const settings = {
  x264Preset: "veryfast",
  maxFps: 60,
  segmentSeconds: 4,
  keyframeSeconds: 4,
  addSilentAudio: false,
  segmentFormat: "mpegts" as const,
};
const sdr = { videoStreamIndex: 0, audioStreamIndex: 1, fps: 30, durationSec: 10 };
const PQ = { hdr: "pq", primaries: "bt2020", matrix: "bt2020nc", range: "tv" } as const;
const hdr = { ...sdr, toneMap: PQ };
const CHAIN =
  "zscale=tin=smpte2084:pin=bt2020:min=bt2020nc:rin=tv:t=linear:p=bt709:npl=100,format=gbrpf32le,tonemap=tonemap=mobius:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p";

type RawStream = FfprobeOutput["streams"][number];
function videoStream(extra: Partial<RawStream>): RawStream {
  return {
    index: 0,
    codec_type: "video",
    codec_name: "hevc",
    width: 1920,
    height: 1080,
    duration: 2,
    bit_rate: undefined,
    nb_frames: undefined,
    nb_read_packets: undefined,
    duration_ts: undefined,
    sample_rate: undefined,
    tags: undefined,
    ...extra,
  };
}
const probeOf = (stream: RawStream) =>
  summariseProbe(
    {
      format: {
        format_name: "mov,mp4,m4a,3gp,3g2,mj2",
        duration: 2,
        bit_rate: undefined,
        size: undefined,
        format_long_name: undefined,
        tags: undefined,
      },
      streams: [stream],
    },
    VIDEO_DEMUXERS,
  ).video!;
const count = (text: string, part: string) => text.split(part).length - 1;

describe("HDR detection from the probe", () => {
  test("an iPhone HLG stream: hlg, 10-bit, its colour tags", () => {
    const video = probeOf(
      videoStream({
        pix_fmt: "yuv420p10le",
        color_range: "tv",
        color_space: "bt2020nc",
        color_transfer: "arib-std-b67",
        color_primaries: "bt2020",
      }),
    );
    assert.deepEqual(
      [video.hdr, video.bitDepth, video.colorPrimaries, video.colorTransfer, video.colorSpace, video.colorRange],
      ["hlg", 10, "bt2020", "arib-std-b67", "bt2020nc", "tv"],
    );
  });

  test("HDR10 (PQ) is pq; BT.709, untagged and 10-bit SDR are not HDR", () => {
    assert.equal(probeOf(videoStream({ pix_fmt: "yuv420p10le", color_transfer: "smpte2084" })).hdr, "pq");
    assert.equal(
      probeOf(videoStream({ pix_fmt: "yuv420p", color_transfer: "bt709", color_primaries: "bt709" })).hdr,
      undefined,
    );
    const untagged = probeOf(
      videoStream({ pix_fmt: "yuv420p10le", color_transfer: "unknown", color_primaries: "unknown" }),
    );
    assert.deepEqual(
      [untagged.hdr, untagged.colorTransfer, untagged.colorPrimaries, untagged.bitDepth],
      [undefined, undefined, undefined, 10],
    );
    assert.equal(hdrOf("bt2020-10"), undefined, "BT.2020 with an SDR transfer is wide gamut, not HDR");
  });

  test("bit depth comes from bits_per_raw_sample, else the pixel format's name", () => {
    assert.equal(bitDepthOf({ bits_per_raw_sample: 12, pix_fmt: "yuv420p" }), 12);
    const depths = ["yuv420p", "yuvj420p", "nv12", "yuv420p10le", "p010le", "yuv444p12le", "gray10le", "rgb48le"].map(
      (pix_fmt) => bitDepthOf({ bits_per_raw_sample: undefined, pix_fmt }),
    );
    assert.deepEqual(depths, [8, 8, 8, 10, 10, 12, 10, undefined]);
  });

  test("the tone map takes the probe's tags, and BT.2020 limited range where they are missing or unknown to zscale", () => {
    assert.equal(
      toneMapSourceOf({ hdr: undefined, colorPrimaries: "bt709", colorSpace: "bt709", colorRange: "tv" }),
      undefined,
    );
    assert.deepEqual(
      toneMapSourceOf({ hdr: "hlg", colorPrimaries: "smpte432", colorSpace: "bt2020nc", colorRange: "pc" }),
      { hdr: "hlg", primaries: "smpte432", matrix: "bt2020nc", range: "pc" },
    );
    assert.deepEqual(
      toneMapSourceOf({ hdr: "pq", colorPrimaries: undefined, colorSpace: "x:y=1", colorRange: undefined }),
      PQ,
    );
    assert.match(toneMapFilters({ ...PQ, hdr: "hlg" }), /^zscale=tin=arib-std-b67:/);
  });
});

describe("the filter graph for HDR sources", () => {
  test("SDR sources keep exactly today's graph: no zscale, no tone map", () => {
    const rungs = planLadder({ width: 1920, height: 1080 }, RUNGS);
    assert.equal(
      videoFilterGraph(sdr, rungs, settings, 0),
      "[0:0]split=3[s0][s1][s2];[s0]scale=w=854:h=480:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v1];[s2]scale=w=1920:h=1080:flags=bicubic,setsar=1,format=yuv420p[v2]",
    );
    assert.deepEqual(
      videoFilterGraph({ ...sdr, toneMap: undefined }, rungs, settings, 0),
      videoFilterGraph(sdr, rungs, settings, 0),
    );
  });

  test("an HDR ladder is tone-mapped once, at the top rung's size, before the split", () => {
    const rungs = planLadder({ width: 1920, height: 1080 }, RUNGS);
    const graph = videoFilterGraph({ ...hdr, fps: 120 }, rungs, settings, 0);
    assert.equal(
      graph,
      `[0:0]fps=60,scale=w=1920:h=1080:flags=bicubic,setsar=1,${CHAIN},split=3[s0][s1][s2];` +
        "[s0]scale=w=854:h=480:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v1];[s2]scale=w=1920:h=1080:flags=bicubic,setsar=1,format=yuv420p[v2]",
    );
    assert.deepEqual(
      [count(graph, "tonemap=mobius"), count(graph, "zscale=tin=")],
      [1, 1],
      "one tone map, not one per rung",
    );
    assert.ok(graph.indexOf("tonemap=mobius") < graph.indexOf("split="));
  });

  test("a 4K HDR source is scaled down to the top rung before the float conversion", () => {
    const rungs = planLadder({ width: 3840, height: 2160 }, RUNGS);
    const graph = videoFilterGraph(hdr, rungs, settings, 0);
    assert.ok(graph.startsWith(`[0:0]scale=w=1920:h=1080:flags=bicubic,setsar=1,zscale=`), graph);
  });

  test("the web MP4 tone-maps its single rendition the same way", () => {
    const [rung] = planLadder({ width: 1280, height: 720 }, RUNGS).slice(-1);
    const args = webMp4Args({
      inputPath: "/w/in",
      demuxer: "mov",
      source: hdr,
      rung: rung!,
      settings,
      outFile: "/w/web.mp4",
    });
    assert.equal(
      args[args.indexOf("-filter_complex") + 1],
      `[0:0]scale=w=1280:h=720:flags=bicubic,setsar=1,${CHAIN},scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v0]`,
    );
  });

  test("tone-mapped output is tagged BT.709 in the encoder options; SDR output gets no tags of ours", () => {
    const rungs = planLadder({ width: 1280, height: 720 }, RUNGS);
    const input = { inputPath: "/w/in", demuxer: "mov", rungs, settings, audioOnlyKbps: undefined, outDir: "/o" };
    const mapped = hlsLadderArgs({ ...input, source: hdr });
    const at = mapped.indexOf("-color_primaries");
    assert.deepEqual(mapped.slice(at, at + BT709_TAGS.length), [...BT709_TAGS]);
    assert.ok(!hlsLadderArgs({ ...input, source: sdr }).includes("-color_primaries"));
    const [rung] = rungs.slice(-1);
    assert.ok(
      webMp4Args({
        inputPath: "/w/in",
        demuxer: "mov",
        source: hdr,
        rung: rung!,
        settings,
        outFile: "/w/o.mp4",
      }).includes("-colorspace"),
    );
    assert.ok(
      !webMp4Args({
        inputPath: "/w/in",
        demuxer: "mov",
        source: sdr,
        rung: rung!,
        settings,
        outFile: "/w/o.mp4",
      }).includes("-colorspace"),
    );
  });
});

describe("poster and storyboard of HDR sources", () => {
  test("the poster is scaled, then tone-mapped, then judged for darkness in SDR luma", () => {
    const input = {
      inputPath: "/w/in",
      demuxer: "mov",
      videoStreamIndex: 0,
      seekSec: 1.5,
      searchSec: 5,
      width: 1280,
      height: 720,
      outFile: "/w/p.png",
    };
    const vf = (args: string[]) => args[args.indexOf("-vf") + 1];
    assert.equal(
      vf(posterFrameArgs({ ...input, toneMap: PQ })),
      `scale=w=1280:h=720:flags=lanczos,setsar=1,${CHAIN},signalstats,metadata=mode=select:key=lavfi.signalstats.YAVG:function=greater:value=32`,
    );
    assert.equal(
      vf(posterFrameArgs({ ...input, searchSec: undefined, toneMap: PQ })),
      `scale=w=1280:h=720:flags=lanczos,setsar=1,${CHAIN}`,
    );
    assert.equal(
      vf(posterFrameArgs(input)),
      "signalstats,metadata=mode=select:key=lavfi.signalstats.YAVG:function=greater:value=32,scale=w=1280:h=720:flags=lanczos,setsar=1",
    );
  });

  test("storyboard tiles are tone-mapped at tile size", () => {
    const plan = planStoryboard(10, 1920, 1080);
    const input = { inputPath: "/w/in", demuxer: "mov", videoStreamIndex: 0, plan, outFile: "/w/s.jpg" };
    const vf = (args: string[]) => args[args.indexOf("-vf") + 1];
    assert.equal(vf(storyboardArgs({ ...input, toneMap: PQ })), `fps=1/1,scale=w=160:h=90,setsar=1,${CHAIN},tile=10x1`);
    assert.equal(vf(storyboardArgs(input)), "fps=1/1,scale=w=160:h=90,setsar=1,tile=10x1");
  });
});
