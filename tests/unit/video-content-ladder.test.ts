import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findUnsafeArguments } from "../../src/media/safe-input.ts";
import {
  CAP_HEADROOM,
  contentProbeArgs,
  fitRungsToContent,
  MIN_CONTENT_SHARE,
  probeKbps,
  probeWindows,
} from "../../src/processors/video/content-ladder.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";

const SPECS = [
  { height: 360, videoKbps: 800, audioKbps: 96 },
  { height: 720, videoKbps: 2800, audioKbps: 128 },
];
const rungs = planLadder({ width: 1280, height: 720 }, SPECS);
const settings = { x264Preset: "veryfast", maxFps: 60, segmentSeconds: 4, keyframeSeconds: 2, addSilentAudio: false };
const WHITELIST = [
  "-protocol_whitelist",
  "file,pipe",
  "-format_whitelist",
  "mov,matroska,avi,mpegts,mpeg,mpegvideo,flv,asf,ogg",
  "-f",
  "mov",
];
const encodeOptions = (index: number) => [
  "-map",
  `[v${index}]`,
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
  "-g",
  "60",
  "-keyint_min",
  "60",
  "-sc_threshold",
  "0",
  "-force_key_frames",
  "expr:gte(t,n_forced*2)",
  "-an",
  "-f",
  "h264",
  "-y",
  `/w/p/probe-${index}.h264`,
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
    for (const window of probeWindows(7, 6))
      assert.ok(window.startSec >= 0 && window.startSec + window.durationSec <= 7 + 1e-9);
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
      ...WHITELIST,
      "-ss",
      "9.000",
      "-t",
      "2.000",
      "-i",
      "file:/w/in.mp4",
      ...WHITELIST,
      "-ss",
      "29.000",
      "-t",
      "2.000",
      "-i",
      "file:/w/in.mp4",
      ...WHITELIST,
      "-ss",
      "49.000",
      "-t",
      "2.000",
      "-i",
      "file:/w/in.mp4",
      "-filter_complex",
      "[0:0][1:0][2:0]concat=n=3:v=1:a=0[probe_in];[probe_in]split=2[s0][s1];[s0]scale=w=640:h=360:flags=bicubic,setsar=1,format=yuv420p[v0];[s1]scale=w=1280:h=720:flags=bicubic,setsar=1,format=yuv420p[v1]",
      ...encodeOptions(0),
      ...encodeOptions(1),
    ]);
    assert.deepEqual(findUnsafeArguments(args), []);
  });

  test("one window needs no concat: the ladder's graph reads the input's stream directly", () => {
    const args = contentProbeArgs({
      inputPath: "/w/in.mp4",
      demuxer: "mov",
      source: { videoStreamIndex: 2, audioStreamIndex: undefined, fps: 30, durationSec: 4 },
      rungs,
      settings,
      windows: probeWindows(4, 6),
      crf: 23,
      outDir: "/w/p",
    });
    const graph = args[args.indexOf("-filter_complex") + 1]!;
    assert.match(graph, /^\[0:2\]split=2/);
    assert.equal(args.filter((arg) => arg === "-i").length, 1);
  });
});

describe("content-aware ladder: fitted rungs", () => {
  test("easy content: each rung runs at the probe's CRF, capped at the probe bitrate plus headroom, buffer in the rung's ratio", () => {
    // 6 s sampled; 360p wrote 150 KB (200 kbit/s), 720p 450 KB (600 kbit/s).
    const fitted = fitRungsToContent(rungs, [{ bytes: 150_000 }, { bytes: 450_000 }], 6, 21);
    assert.deepEqual(
      fitted.map((entry) => entry.probeKbps),
      [200, 600],
    );
    assert.deepEqual(
      fitted.map((entry) => [entry.rung.crf, entry.rung.maxrateKbps, entry.rung.videoKbps]),
      [
        [21, 200 * CAP_HEADROOM, 200 * CAP_HEADROOM],
        [21, 600 * CAP_HEADROOM, 600 * CAP_HEADROOM],
      ],
    );
    assert.deepEqual(
      fitted.map((entry) => entry.rung.bufsizeKbps),
      [2 * 200 * CAP_HEADROOM, 2 * 600 * CAP_HEADROOM],
    );
    assert.deepEqual([fitted[1]!.rung.name, fitted[1]!.rung.width, fitted[1]!.rung.height], ["720p", 1280, 720]);
  });

  test("hard content keeps the fixed rung exactly: the configured target bitrate, no CRF", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: 3_000_000 }, { bytes: 9_000_000 }], 6, 21);
    assert.deepEqual(
      fitted.map((entry) => entry.rung),
      rungs,
    );
    assert.deepEqual(
      fitted.map((entry) => entry.probeKbps),
      [4000, 12000],
    );
    // Just below the rung once the headroom is added: still the fixed rung.
    const edge = fitRungsToContent(rungs, [{ bytes: Math.ceil((800 / CAP_HEADROOM) * 6 * 125) }, { bytes: 1 }], 6, 21);
    assert.equal(edge[0]!.rung.crf, undefined);
  });

  test("a near-static clip never gets a cap below the floor share of the configured rung", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: 2_000 }, { bytes: 4_000 }], 6, 21);
    assert.deepEqual(
      fitted.map((entry) => entry.rung.maxrateKbps),
      [Math.max(150, 800 * MIN_CONTENT_SHARE), 2800 * MIN_CONTENT_SHARE],
    );
  });

  test("a rung whose probe wrote nothing stays as configured, at its average bitrate", () => {
    const fitted = fitRungsToContent(rungs, [{ bytes: undefined }, { bytes: 100 }], 6, 21);
    assert.deepEqual(
      fitted.map((entry) => [entry.probeKbps, entry.rung.crf, entry.rung.videoKbps, entry.rung.maxrateKbps]),
      [
        [undefined, undefined, 800, rungs[0]!.maxrateKbps],
        [undefined, undefined, 2800, rungs[1]!.maxrateKbps],
      ],
    );
    assert.equal(probeKbps(10_000, 0), undefined);
  });

  test("a CRF rung is encoded with -crf:v:<i> and its cap; a configured rung keeps its -b:v:<i> target", () => {
    const [crfRung, fixedRung] = [{ ...rungs[0]!, crf: 21, maxrateKbps: 300, bufsizeKbps: 600 }, rungs[1]!];
    const args = hlsLadderArgs({
      inputPath: "/w/in.mp4",
      demuxer: "mov",
      source: { videoStreamIndex: 0, audioStreamIndex: undefined, fps: 30, durationSec: 10 },
      rungs: [crfRung, fixedRung],
      settings: { ...settings, segmentFormat: "mpegts" },
      audioOnlyKbps: undefined,
      outDir: "/w/out",
    });
    const at = args.indexOf("-crf:v:0");
    assert.deepEqual(args.slice(at, at + 12), [
      "-crf:v:0",
      "21",
      "-maxrate:v:0",
      "300k",
      "-bufsize:v:0",
      "600k",
      "-b:v:1",
      `${fixedRung.videoKbps}k`,
      "-maxrate:v:1",
      `${fixedRung.maxrateKbps}k`,
      "-bufsize:v:1",
      `${fixedRung.bufsizeKbps}k`,
    ]);
    assert.equal(args.includes("-b:v:0"), false);
  });
});
