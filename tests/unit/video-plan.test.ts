import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import type { ConfigError } from "../../src/config/config.ts";
import { planFrameRate } from "../../src/processors/video/encode-options.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { hlsOutputRequests, uploadAll } from "../../src/processors/video/hls-uploads.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";
import {
  aacCodecString,
  buildMasterPlaylist,
  h264CodecString,
  measureBandwidth,
  parseMediaPlaylist,
} from "../../src/processors/video/master-playlist.ts";
import { webMp4Args } from "../../src/processors/video/mp4-command.ts";
import { darkThresholdFor, frameIsDark, posterFrameArgs } from "../../src/processors/video/poster.ts";
import { planStoryboard, storyboardVtt } from "../../src/processors/video/storyboard.ts";
import type { OutputFile } from "../../src/processors/processor.ts";
import { testConfig } from "../helpers/process-locally.ts";

const RUNGS = testConfig().video.rungs;
const shape = (rungs: ReturnType<typeof planLadder>) =>
  rungs.map((rung) => `${rung.name}:${rung.width}x${rung.height}`);

describe("ladder plan", () => {
  test("1080p landscape gets 480p, 720p and 1080p", () => {
    assert.deepEqual(shape(planLadder({ width: 1920, height: 1080 }, RUNGS)), [
      "480p:854x480",
      "720p:1280x720",
      "1080p:1920x1080",
    ]);
  });

  test("720p is never upscaled: two rungs, the top one native", () => {
    const rungs = planLadder({ width: 1280, height: 720 }, RUNGS);
    assert.deepEqual(shape(rungs), ["480p:854x480", "720p:1280x720"]);
    assert.deepEqual(
      rungs.map((rung) => rung.native),
      [false, true],
    );
  });

  test("portrait sources get portrait rungs named by their short side", () => {
    assert.deepEqual(shape(planLadder({ width: 1080, height: 1920 }, RUNGS)), [
      "480p:480x854",
      "720p:720x1280",
      "1080p:1080x1920",
    ]);
  });

  test("a source smaller than the lowest rung gets one rung at its own size", () => {
    assert.deepEqual(shape(planLadder({ width: 320, height: 240 }, RUNGS)), ["240p:320x240"]);
  });

  test("odd sizes round to even, and a rung that would equal the previous one is dropped", () => {
    assert.deepEqual(shape(planLadder({ width: 1279, height: 721 }, RUNGS)), ["480p:852x480", "720p:1278x720"]);
    assert.deepEqual(shape(planLadder({ width: 641, height: 361 }, RUNGS)), ["360p:640x360"]);
  });

  test("4:3 and ultra-wide sources fit inside each 16:9 box", () => {
    assert.deepEqual(shape(planLadder({ width: 1440, height: 1080 }, RUNGS)), [
      "480p:640x480",
      "720p:960x720",
      "1080p:1440x1080",
    ]);
    // An ultra-wide source never fits a 16:9 box: each rung is width-bound, none is native.
    assert.deepEqual(shape(planLadder({ width: 3840, height: 1080 }, RUNGS)), [
      "240p:854x240",
      "360p:1280x360",
      "540p:1920x540",
    ]);
  });

  test("bitrates follow the rung, scale with the share of the box filled, and never far exceed the source", () => {
    const [low, , high] = planLadder({ width: 1920, height: 1080 }, RUNGS);
    assert.deepEqual([low?.videoKbps, low?.maxrateKbps, low?.bufsizeKbps, low?.audioKbps], [1400, 1680, 2800, 96]);
    assert.equal(high?.videoKbps, 5000);
    assert.equal(planLadder({ width: 1440, height: 1080 }, RUNGS)[2]?.videoKbps, 3750);
    assert.equal(planLadder({ width: 1920, height: 1080, bitRate: 1_000_000 }, RUNGS)[2]?.videoKbps, 1500);
  });
});

const source = { videoStreamIndex: 0, audioStreamIndex: 1, fps: 30, durationSec: 10 };
const settings = {
  x264Preset: "veryfast",
  maxFps: 60,
  segmentSeconds: 4,
  keyframeSeconds: 2,
  addSilentAudio: false,
  segmentFormat: "mpegts" as const,
};

describe("ffmpeg command builders", () => {
  test("the one-pass ladder: one decode, split, one x264+AAC stream pair per rung, one HLS muxer", () => {
    const rungs = planLadder({ width: 1280, height: 720 }, RUNGS);
    assert.deepEqual(
      hlsLadderArgs({
        inputPath: "/w/input",
        demuxer: "mov",
        source,
        rungs,
        settings,
        audioOnlyKbps: undefined,
        outDir: "/w/hls",
      }),
      [
        "-protocol_whitelist",
        "file,pipe",
        "-format_whitelist",
        "mov,matroska,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg",
        "-f",
        "mov",
        "-i",
        "file:/w/input",
        "-filter_complex",
        "[0:0]split=2[s0][s1];[s0]scale=w=854:h=480:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v1]",
        "-map",
        "[v0]",
        "-map",
        "0:1",
        "-map",
        "[v1]",
        "-map",
        "0:1",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "high",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-ar",
        "48000",
        "-b:v:0",
        "1400k",
        "-maxrate:v:0",
        "1680k",
        "-bufsize:v:0",
        "2800k",
        "-b:a:0",
        "96k",
        "-b:v:1",
        "2800k",
        "-maxrate:v:1",
        "3360k",
        "-bufsize:v:1",
        "5600k",
        "-b:a:1",
        "128k",
        "-max_muxing_queue_size",
        "4096",
        "-f",
        "hls",
        "-hls_time",
        "4",
        "-hls_playlist_type",
        "vod",
        "-hls_flags",
        "independent_segments+temp_file",
        "-hls_segment_type",
        "mpegts",
        "-hls_segment_filename",
        "/w/hls/%v/segment_%05d.ts",
        "-var_stream_map",
        "v:0,a:0,name:480p v:1,a:1,name:720p",
        "-y",
        "/w/hls/%v/index.m3u8",
      ],
    );
  });

  test("no audio: video-only stream map; silent audio when asked; fMP4 and an audio-only rendition", () => {
    const rungs = planLadder({ width: 640, height: 360 }, RUNGS);
    const silentless = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "mov",
      source: { ...source, audioStreamIndex: undefined },
      rungs,
      settings,
      audioOnlyKbps: 96,
      outDir: "/o",
    });
    assert.equal(silentless[silentless.indexOf("-var_stream_map") + 1], "v:0,name:360p");
    assert.ok(!silentless.includes("-c:a"));
    const silent = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "mov",
      source: { ...source, audioStreamIndex: undefined },
      rungs,
      settings: { ...settings, addSilentAudio: true },
      audioOnlyKbps: undefined,
      outDir: "/o",
    });
    assert.match(
      silent[silent.indexOf("-filter_complex") + 1]!,
      /anullsrc=channel_layout=stereo:sample_rate=48000,atrim=duration=10\.000\[a0\]$/,
    );
    assert.deepEqual(silent.slice(silent.indexOf("-map"), silent.indexOf("-map") + 4), [
      "-map",
      "[v0]",
      "-map",
      "[a0]",
    ]);
    const fmp4 = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "matroska",
      source,
      rungs,
      settings: { ...settings, segmentFormat: "fmp4" },
      audioOnlyKbps: 96,
      outDir: "/o",
    });
    assert.equal(fmp4[fmp4.indexOf("-var_stream_map") + 1], "v:0,a:0,name:360p a:1,name:audio");
    assert.equal(fmp4[fmp4.indexOf("-hls_segment_filename") + 1], "/o/%v/segment_%05d.m4s");
    assert.equal(fmp4[fmp4.indexOf("-hls_fmp4_init_filename") + 1], "init.mp4");
    assert.deepEqual(fmp4.slice(fmp4.indexOf("-b:a:1"), fmp4.indexOf("-b:a:1") + 2), ["-b:a:1", "96k"]);
  });

  test("a 120 fps source is capped at VIDEO_MAX_FPS before the split", () => {
    const args = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "mov",
      source: { ...source, fps: 120 },
      rungs: planLadder({ width: 1280, height: 720 }, RUNGS),
      settings,
      audioOnlyKbps: undefined,
      outDir: "/o",
    });
    assert.match(args[args.indexOf("-filter_complex") + 1]!, /^\[0:0\]fps=60,split=2/);
    assert.equal(args[args.indexOf("-g") + 1], "120");
    assert.ok(!args.includes("-fps_mode"), "a capped source becomes constant-rate");
  });

  test("frame-rate plan: constant-rate sources pass, faster ones are capped, irregular ones keep their timestamps", () => {
    assert.deepEqual(planFrameRate({ fps: 30, baseFps: 30 }, 60), { mode: "source", fps: 30 });
    assert.deepEqual(planFrameRate({ fps: 29.97, baseFps: 29.97 }, 60), { mode: "source", fps: 29.97 });
    assert.deepEqual(planFrameRate({ fps: 240, baseFps: 240 }, 60), { mode: "cfr-cap", fps: 60 });
    // The Pixel clip: 53 frames averaging 30 fps, r_frame_rate 120.
    assert.deepEqual(planFrameRate({ fps: 30.43, baseFps: 120 }, 60), { mode: "vfr", fps: 30.43, capBursts: true });
    // A browser MediaRecorder WebM: 1 ms time grid, base rate 1000.
    assert.deepEqual(planFrameRate({ fps: 29.5, baseFps: 1000 }, 60), { mode: "vfr", fps: 29.5, capBursts: true });
    assert.deepEqual(planFrameRate({ fps: 24, baseFps: 48 }, 60), { mode: "vfr", fps: 24, capBursts: false });
    // Averaging above the cap, irregular or not, is capped to a constant rate.
    assert.deepEqual(planFrameRate({ fps: 90, baseFps: 120 }, 60), { mode: "cfr-cap", fps: 60 });
    assert.deepEqual(planFrameRate({ fps: undefined, baseFps: 25 }, 60), { mode: "source", fps: 25 });
  });

  test("a VFR source keeps its timestamps: bursts over the cap thinned by select, fps_mode vfr, packet durations from the next timestamp", () => {
    const args = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "mov",
      source: { ...source, fps: 30.43, baseFps: 120 },
      rungs: planLadder({ width: 1280, height: 720 }, RUNGS),
      settings,
      audioOnlyKbps: undefined,
      outDir: "/o",
    });
    assert.match(
      args[args.indexOf("-filter_complex") + 1]!,
      /^\[0:0\]select=isnan\(prev_selected_t\)\+gte\(t-prev_selected_t\\,0\.016167\),split=2/,
    );
    assert.deepEqual(args.slice(args.indexOf("-fps_mode"), args.indexOf("-fps_mode") + 4), [
      "-fps_mode",
      "vfr",
      "-bsf:v",
      "setts=duration=if(eq(NEXT_DTS\\,NOPTS)\\,DURATION\\,NEXT_DTS-DTS)",
    ]);
    assert.equal(args[args.indexOf("-g") + 1], "61");
    const web = webMp4Args({
      inputPath: "/w/in",
      demuxer: "mov",
      source: { ...source, fps: 30.43, baseFps: 120 },
      rung: planLadder({ width: 1280, height: 720 }, RUNGS).at(-1)!,
      settings,
      outFile: "/w/web.mp4",
    });
    assert.ok(web.includes("-fps_mode"));
  });

  test("the web MP4: capped CRF at the top rung, faststart", () => {
    const [rung] = planLadder({ width: 1280, height: 720 }, RUNGS).slice(-1);
    assert.deepEqual(
      webMp4Args({ inputPath: "/w/in", demuxer: "mov", source, rung: rung!, settings, outFile: "/w/web.mp4" }),
      [
        "-protocol_whitelist",
        "file,pipe",
        "-format_whitelist",
        "mov,matroska,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg",
        "-f",
        "mov",
        "-i",
        "file:/w/in",
        "-filter_complex",
        "[0:0]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v0]",
        "-map",
        "[v0]",
        "-map",
        "0:1",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-profile:v",
        "high",
        "-crf",
        "23",
        "-maxrate",
        "3360k",
        "-bufsize",
        "5600k",
        "-g",
        "60",
        "-keyint_min",
        "60",
        "-sc_threshold",
        "0",
        "-force_key_frames",
        "expr:gte(t,n_forced*2)",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-ar",
        "48000",
        "-b:a",
        "128k",
        "-max_muxing_queue_size",
        "4096",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-y",
        "/w/web.mp4",
      ],
    );
  });

  test("the poster frame: fast seek, bounded search for a frame brighter than black, one PNG", () => {
    assert.deepEqual(
      posterFrameArgs({
        inputPath: "/w/in",
        demuxer: "mov",
        videoStreamIndex: 0,
        seekSec: 1.5,
        searchSec: 5,
        width: 1280,
        height: 720,
        outFile: "/w/p.png",
      }),
      [
        "-protocol_whitelist",
        "file,pipe",
        "-format_whitelist",
        "mov,matroska,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg",
        "-f",
        "mov",
        "-ss",
        "1.500",
        "-t",
        "5.000",
        "-i",
        "file:/w/in",
        "-map",
        "0:0",
        "-vf",
        "signalstats,metadata=mode=select:key=lavfi.signalstats.YAVG:function=greater:value=32,scale=w=1280:h=720:flags=lanczos,setsar=1",
        "-frames:v",
        "1",
        "-update",
        "1",
        "-map_metadata",
        "-1",
        "-f",
        "image2",
        "-c:v",
        "png",
        "-y",
        "/w/p.png",
      ],
    );
    const plain = posterFrameArgs({
      inputPath: "/w/in",
      demuxer: undefined,
      videoStreamIndex: 2,
      seekSec: 0,
      searchSec: undefined,
      width: 2,
      height: 2,
      outFile: "/o.png",
    });
    const inputPart = plain.slice(0, plain.indexOf("-i"));
    assert.ok(
      !inputPart.includes("-ss") && !inputPart.includes("-f") && !inputPart.includes("-t"),
      inputPart.join(" "),
    );
    assert.equal(plain[plain.indexOf("-vf") + 1], "scale=w=2:h=2:flags=lanczos,setsar=1");
  });
});

describe("playlists", () => {
  test("a media playlist parses into segments, durations and the init map", () => {
    const playlist = parseMediaPlaylist(
      '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:4.000000,\nsegment_00000.m4s\n#EXTINF:1.5,\nsegment_00001.m4s\n#EXT-X-ENDLIST\n',
    );
    assert.deepEqual(playlist, {
      version: 7,
      targetDurationSec: 4,
      initUri: "init_0.mp4",
      segments: [
        { uri: "segment_00000.m4s", durationSec: 4 },
        { uri: "segment_00001.m4s", durationSec: 1.5 },
      ],
      ended: true,
    });
  });

  test("bandwidth is the peak segment rate; a short last segment cannot inflate it", () => {
    // Peak: 1 MB over 4 s = 2 Mbit/s. The 0.1 s tail counts as 2 s (0.4 Mbit/s), not 8 Mbit/s.
    // Average: 1.6 MB over 8.1 s = 1,580,246.9 bit/s, rounded up.
    assert.deepEqual(
      measureBandwidth(
        [
          { durationSec: 4, bytes: 500_000 },
          { durationSec: 4, bytes: 1_000_000 },
          { durationSec: 0.1, bytes: 100_000 },
        ],
        4,
      ),
      { peak: 2_000_000, average: 1_580_247 },
    );
  });

  test("the master playlist carries BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, CODECS and FRAME-RATE", () => {
    const text = buildMasterPlaylist(
      [
        {
          uri: "480p/index.m3u8",
          bandwidth: 1_500_000.2,
          averageBandwidth: 1_200_000,
          codecs: ["avc1.64001e", "mp4a.40.2"],
          resolution: { width: 854, height: 480 },
          frameRate: 29.97002997,
        },
        { uri: "audio/index.m3u8", bandwidth: 130_000, averageBandwidth: 129_000, codecs: ["mp4a.40.2"] },
      ],
      3,
    );
    assert.equal(
      text,
      "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
        '#EXT-X-STREAM-INF:BANDWIDTH=1500001,AVERAGE-BANDWIDTH=1200000,RESOLUTION=854x480,CODECS="avc1.64001e,mp4a.40.2",FRAME-RATE=29.970\n480p/index.m3u8\n' +
        '#EXT-X-STREAM-INF:BANDWIDTH=130000,AVERAGE-BANDWIDTH=129000,CODECS="mp4a.40.2"\naudio/index.m3u8\n',
    );
  });

  test("RFC 6381 codec strings from ffprobe's profile and level", () => {
    assert.equal(h264CodecString("High", 40), "avc1.640028");
    assert.equal(h264CodecString("Main", 31), "avc1.4d401f");
    assert.equal(h264CodecString("Constrained Baseline", 30), "avc1.42e01e");
    assert.equal(h264CodecString("Weird", 30), undefined);
    assert.equal(aacCodecString("LC"), "mp4a.40.2");
    assert.equal(aacCodecString("HE-AAC"), "mp4a.40.5");
  });

  test("storyboard: at most 100 tiles in a 10-wide grid, cues pointing at each tile", () => {
    assert.deepEqual(planStoryboard(3, 1280, 720), {
      intervalSec: 1,
      count: 3,
      columns: 3,
      rows: 1,
      tileWidth: 160,
      tileHeight: 90,
    });
    assert.deepEqual(planStoryboard(3600, 1080, 1920), {
      intervalSec: 36,
      count: 100,
      columns: 10,
      rows: 10,
      tileWidth: 160,
      tileHeight: 284,
    });
    assert.equal(
      storyboardVtt(planStoryboard(2.5, 1280, 720), 2.5, "sprite.jpg"),
      "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsprite.jpg#xywh=0,0,160,90\n\n00:00:01.000 --> 00:00:02.000\nsprite.jpg#xywh=160,0,160,90\n\n00:00:02.000 --> 00:00:02.500\nsprite.jpg#xywh=320,0,160,90\n",
    );
  });
});

describe("HLS uploads", () => {
  test("every file gets its HLS content type and an immutable cache-control; segments go first, the master last", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "mp-hls-up-"));
    try {
      await mkdir(path.join(dir, "720p"));
      for (const file of [
        "master.m3u8",
        "720p/index.m3u8",
        "720p/segment_00000.ts",
        "720p/init_0.mp4",
        "720p/segment_00000.m4s",
        "720p/stray.tmp",
      ])
        await writeFile(path.join(dir, file), "x");
      const requests = await hlsOutputRequests(dir);
      assert.deepEqual(
        requests.map((request) => [request.name, request.contentType, request.variant]),
        [
          ["hls/720p/init_0.mp4", "video/mp4", "hls_init"],
          ["hls/720p/segment_00000.m4s", "video/iso.segment", "hls_segment"],
          ["hls/720p/segment_00000.ts", "video/mp2t", "hls_segment"],
          ["hls/720p/index.m3u8", "application/vnd.apple.mpegurl", "hls_playlist"],
          ["hls/master.m3u8", "application/vnd.apple.mpegurl", "hls_master"],
        ],
      );
      assert.ok(requests.every((request) => request.cacheControl === "public, max-age=31536000, immutable"));

      const started: string[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const outputs = await uploadAll(
        requests,
        async (request) => {
          started.push(request.name);
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight -= 1;
          return {
            key: request.name,
            variant: request.variant,
            contentType: request.contentType,
            bytes: 1,
          } satisfies OutputFile;
        },
        { parallel: 2, signal: new AbortController().signal },
      );
      assert.equal(maxInFlight, 2);
      assert.equal(started.at(-1), "hls/master.m3u8");
      assert.deepEqual(
        outputs.map((output) => output.key),
        requests.map((request) => request.name),
      );
      await assert.rejects(
        uploadAll(requests, async () => assert.fail("must not upload"), {
          parallel: 2,
          signal: AbortSignal.abort("cancelled"),
        }),
        /cancelled/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("video config", () => {
  test("defaults: 480/720/1080 ladder, 6 s segments with a keyframe every 2 s, veryfast, extras off", () => {
    const video = testConfig().video;
    assert.deepEqual(
      video.rungs.map((rung) => `${rung.height}:${rung.videoKbps}:${rung.audioKbps}`),
      ["480:1400:96", "720:2800:128", "1080:5000:160"],
    );
    assert.deepEqual(
      [
        video.segmentSeconds,
        video.keyframeSeconds,
        video.segmentFormat,
        video.x264Preset,
        video.audioOnlyRendition,
        video.storyboard,
        video.addSilentAudio,
        video.maxDurationSec,
      ],
      [6, 2, "mpegts", "veryfast", false, false, false, 14400],
    );
  });

  test("the keyframe interval is its own setting and must divide the segment length", () => {
    assert.equal(testConfig({ VIDEO_HLS_SEGMENT_SECONDS: "4" }).video.keyframeSeconds, 2);
    assert.equal(testConfig({ VIDEO_HLS_SEGMENT_SECONDS: "1" }).video.keyframeSeconds, 1);
    assert.equal(testConfig({ VIDEO_HLS_SEGMENT_SECONDS: "5" }).video.keyframeSeconds, 1);
    assert.equal(
      testConfig({ VIDEO_HLS_SEGMENT_SECONDS: "6", VIDEO_KEYFRAME_INTERVAL_SECONDS: "3" }).video.keyframeSeconds,
      3,
    );
    assert.throws(
      () => testConfig({ VIDEO_HLS_SEGMENT_SECONDS: "6", VIDEO_KEYFRAME_INTERVAL_SECONDS: "4" }),
      /must be a multiple of VIDEO_KEYFRAME_INTERVAL_SECONDS/,
    );
    const args = hlsLadderArgs({
      inputPath: "/w/in",
      demuxer: "mov",
      source,
      rungs: planLadder({ width: 1280, height: 720 }, RUNGS),
      settings: { ...settings, segmentSeconds: 6, keyframeSeconds: 2 },
      audioOnlyKbps: undefined,
      outDir: "/o",
    });
    assert.equal(args[args.indexOf("-hls_time") + 1], "6");
    assert.equal(args[args.indexOf("-force_key_frames") + 1], "expr:gte(t,n_forced*2)");
  });

  test("VIDEO_HLS_RUNGS parses k/M suffixes and refuses bad or unordered rungs", () => {
    assert.deepEqual(testConfig({ VIDEO_HLS_RUNGS: "360:800:64k, 2160:16M:192k" }).video.rungs, [
      { height: 360, videoKbps: 800, audioKbps: 64 },
      { height: 2160, videoKbps: 16000, audioKbps: 192 },
    ]);
    assert.throws(
      () => testConfig({ VIDEO_HLS_RUNGS: "720:2800k:128k,480:1400k:96k" }),
      (error: ConfigError) => /VIDEO_HLS_RUNGS/.test(error.message),
    );
    assert.throws(() => testConfig({ VIDEO_HLS_RUNGS: "720:fast:128k" }), /VIDEO_HLS_RUNGS/);
    assert.throws(() => testConfig({ VIDEO_X264_PRESET: "ludicrous" }), /VIDEO_X264_PRESET/);
  });
});

test("the poster's dark-frame threshold is in the frames' own scale: 32 at 8 bits, 128 at 10, 512 at 12", () => {
  assert.deepEqual(
    [
      darkThresholdFor(undefined),
      darkThresholdFor(8),
      darkThresholdFor(10),
      darkThresholdFor(12),
      darkThresholdFor(99),
    ],
    [32, 32, 128, 512, 32],
  );
  const args = posterFrameArgs({
    inputPath: "/w/in",
    demuxer: "mov",
    videoStreamIndex: 0,
    seekSec: 1,
    searchSec: 5,
    width: 640,
    height: 360,
    outFile: "/w/p.png",
    bitDepth: 10,
  });
  assert.match(args[args.indexOf("-vf") + 1]!, /function=greater:value=128,/);
});

describe("poster frame from the ladder's decode (issue 20)", () => {
  const source = { videoStreamIndex: 0, audioStreamIndex: 1, fps: 30, baseFps: 30, durationSec: 30 };
  const settings = {
    x264Preset: "veryfast",
    maxFps: 60,
    segmentSeconds: 6,
    keyframeSeconds: 2,
    addSilentAudio: false,
    segmentFormat: "mpegts" as const,
  };
  const rungs = planLadder({ width: 1920, height: 1080, bitRate: undefined }, RUNGS);
  const command = (posterFrame?: { outFile: string; atSec: number; width: number; height: number }) =>
    hlsLadderArgs({
      inputPath: "/tmp/job/input",
      demuxer: "mov",
      source,
      rungs,
      settings,
      audioOnlyKbps: undefined,
      outDir: "/tmp/job/hls",
      posterFrame,
    });

  test("one more split branch takes the first frame at the position, scaled like the poster, and a second output writes it as one PNG", () => {
    const args = command({ outFile: "/tmp/job/poster-frame.png", atSec: 15, width: 1920, height: 1080 });
    const graph = args[args.indexOf("-filter_complex") + 1]!;
    assert.match(graph, /split=4\[s0\]\[s1\]\[s2\]\[s3\]/);
    assert.ok(
      graph.endsWith(
        ";[s3]setpts=PTS-STARTPTS,trim=start=15.000,trim=end_frame=1,scale=w=1920:h=1080:flags=lanczos,setsar=1,format=rgb24[poster]",
      ),
      graph,
    );
    const hlsEnd = args.indexOf("/tmp/job/hls/%v/index.m3u8");
    assert.deepEqual(args.slice(hlsEnd + 1), [
      "-map",
      "[poster]",
      "-map_metadata",
      "-1",
      "-map_chapters",
      "-1",
      "-frames:v",
      "1",
      "-update",
      "1",
      "-c:v",
      "png",
      "-threads:v",
      "1",
      "-f",
      "image2",
      "-atomic_writing",
      "1",
      "-y",
      "/tmp/job/poster-frame.png",
    ]);
  });

  test("without a poster frame the command is the ladder alone (what the bench's raw side runs)", () => {
    const args = command();
    assert.equal(args.at(-1), "/tmp/job/hls/%v/index.m3u8");
    assert.match(args[args.indexOf("-filter_complex") + 1]!, /split=3\[s0\]\[s1\]\[s2\];/);
  });

  test("a frame is dark by signalstats' rule: limited-range mean luma at most 32", () => {
    assert.equal(frameIsDark([0, 0, 0]), true);
    assert.equal(frameIsDark([18, 18, 18]), true);
    assert.equal(frameIsDark([20, 20, 20]), false);
    assert.equal(frameIsDark([255, 0, 0]), false, "pure red is bright enough (luma 54)");
    assert.equal(frameIsDark([0, 0, 200]), true, "dark blue (luma 14)");
  });
});
