import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findUnsafeArguments } from "../../src/media/safe-input.ts";
import { contentProbeArgs, fitRungsToContent, MIN_CONTENT_SHARE, PROBE_HEADROOM, probeKbps, probeWindows } from "../../src/processors/video/content-ladder.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";

const SPECS = [
  { height: 360, videoKbps: 800, audioKbps: 96 },
  { height: 720, videoKbps: 2800, audioKbps: 128 },
];
const rungs = planLadder({ width: 1280, height: 720 }, SPECS);
const settings = { x264Preset: "veryfast", maxFps: 60, segmentSeconds: 4, addSilentAudio: false };
const WHITELIST = ["-protocol_whitelist", "file,pipe", "-format_whitelist", "mov,matroska,avi,mpegts,mpeg,flv,asf,ogg", "-f", "mov"];
const encodeOptions = (index: number) => [
  "-map", `[v${index}]`, "-map_metadata", "-1", "-map_chapters", "-1",
  "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-crf", "23",
  "-g", "120", "-keyint_min", "120", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*4)",
  "-an", "-f", "h264", "-y", `/w/p/probe-${index}.h264`,
];

describe("content-aware ladder: sampling", () => {
  test("a long clip is sampled in three windows centred at 1/6, 1/2 and 5/6 of its duration", () => {
    assert.deepEqual(probeWindows(60, 6), [
      { startSec: 9, durationSec: 2 },
      { startSec: 29, durationSec: 2 },
      { startSec: 49, durationSec: 2 },
    ]);
  });

  test("a clip no longer than the sample, or of unknown duration, is probed whole", () => {
    assert.deepEqual(probeWindows(5, 6), [{ startSec: 0, durationSec: 5 }]);
    assert.deepEqual(probeWindows(undefined, 6), [{ startSec: 0, durationSec: 6 }]);
  });

  test("windows never run past the end of the clip", () => {
    for (const window of probeWindows(7, 6)) assert.ok(window.startSec >= 0 && window.startSec + window.durationSec <= 7 + 1e-9);
  });
});

describe("content-aware ladder: probe command", () => {
  test("the source is opened once per window with a fast seek, concatenated, scaled by the ladder's graph and encoded per rung at the CRF", () => {
    const args = contentProbeArgs({
      inputPath: "/w/in.mp4",
      demuxer: "mov",
      source: { videoStreamIndex: 0, audioStreamIndex: 1, fps: 30, durationSec: 60 },
      rungs,
      settings,
      windows: probeWindows(60, 6),
      crf: 23,
      outDir: "/w/p",
    });
    assert.deepEqual(args, [
      ...WHITELIST, "-ss", "9.000", "-t", "2.000", "-i", "file:/w/in.mp4",
      ...WHITELIST, "-ss", "29.000", "-t", "2.000", "-i", "file:/w/in.mp4",
      ...WHITELIST, "-ss", "49.000", "-t", "2.000", "-i", "file:/w/in.mp4",
      "-filter_complex",
      "[0:0][1:0][2:0]concat=n=3:v=1:a=0[probe_in];[probe_in]split=2[s0][s1];[s0]scale=w=640:h=360:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v1]",
      ...encodeOptions(0),
      ...encodeOptions(1),
    ]);
    assert.deepEqual(findUnsafeArguments(args), []);
  });

  test("one window needs no concat: the ladder's graph reads the input's stream directly", () => {
    const args = contentProbeArgs({ inputPath: "/w/in.mp4", demuxer: "mov", source: { videoStreamIndex: 2, audioStreamIndex: undefined, fps: 30, durationSec: 4 }, rungs, settings, windows: probeWindows(4, 6), crf: 23, outDir: "/w/p" });
    const graph = args[args.indexOf("-filter_complex") + 1]!;
    assert.match(graph, /^\[0:2\]split=2/);
    assert.equal(args.filter((arg) => arg === "-i").length, 1);
  });
});

describe("content-aware ladder: fitted bitrates", () => {
  test("easy content: each rung gets its probe bitrate plus headroom, caps scaled with it", () => {
    // 6 s sampled; 360p wrote 150 KB (200 kbit/s), 720p 450 KB (600 kbit/s).
    const fitted = fitRungsToContent(rungs, [{ bytes: 150_000 }, { bytes: 450_000 }], 6);
    assert.deepEqual(fitted.map((entry) => entry.probeKbps), [200, 600]);
    assert.deepEqual(fitted.map((entry) => entry.rung.videoKbps), [Math.round(200 * PROBE_HEADROOM), Math.round(600 * PROBE_HEADROOM)]);
    const top = fitted[1]!.rung;
    assert.equal(top.maxrateKbps, Math.round(rungs[1]!.maxrateKbps * (top.videoKbps / rungs[1]!.videoKbps)));
    assert.equal(top.bufsizeKbps, Math.round(rungs[1]!.bufsizeKbps * (top.videoKbps / rungs[1]!.videoKbps)));
    assert.equal(top.width, 1280);
    assert.equal(top.name, "720p");
  });

  test("hard content keeps the configured bitrate: the fixed ladder is the ceiling", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: 3_000_000 }, { bytes: 9_000_000 }], 6);
    assert.deepEqual(fitted.map((entry) => entry.rung.videoKbps), [800, 2800]);
    assert.deepEqual(fitted.map((entry) => entry.rung.maxrateKbps), rungs.map((rung) => rung.maxrateKbps));
  });

  test("a near-static clip never drops below the floor share of the configured rung", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: 2_000 }, { bytes: 4_000 }], 6);
    assert.deepEqual(fitted.map((entry) => entry.rung.videoKbps), [Math.max(150, 800 * MIN_CONTENT_SHARE), 2800 * MIN_CONTENT_SHARE]);
  });

  test("a rung whose probe wrote nothing keeps its configured bitrate", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: undefined }, { bytes: 100 }], 6);
    assert.deepEqual(fitted.map((entry) => [entry.probeKbps, entry.rung.videoKbps]), [[undefined, 800], [undefined, 2800]]);
    assert.equal(probeKbps(10_000, 0), undefined);
  });
});
