import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  comparisonGraph,
  comparisonOutputs,
  imageComparisonArgs,
  parsePsnrStats,
  parseSsimStats,
  psnrFromMse,
  PSNR_IDENTICAL_DB,
} from "../../src/media/ffmpeg-quality.ts";
import { parseSsimulacra2Output } from "../../src/media/ssimulacra2.ts";
import { comparedRegion, MAX_COMPARED_PIXELS } from "../../src/processors/quality/image-quality.ts";
import { headlineScore, qualityStepDetail } from "../../src/processors/quality/quality-summary.ts";
import { withRenditionQuality } from "../../src/processors/quality/video-quality.ts";
import type { OutputFile } from "../../src/processors/processor.ts";

describe("ffmpeg SSIM/PSNR stats files", () => {
  test("SSIM is the mean of the frames' All values, with the worst frame beside it", () => {
    const text = [
      "n:1 Y:0.990000 U:0.980000 V:0.970000 All:0.985000 (18.2)",
      "n:2 Y:0.950000 U:0.960000 V:0.970000 All:0.955000 (13.5)",
      "",
    ].join("\n");
    const parsed = parseSsimStats(text);
    assert.equal(parsed.frames, 2);
    assert.ok(Math.abs(parsed.ssim - 0.97) < 1e-9);
    assert.equal(parsed.ssimMin, 0.955);
  });

  test("PSNR comes from the mean MSE over frames (as ffmpeg's average), not the mean of the frames' PSNR", () => {
    const text = [
      "n:1 mse_avg:1.00 mse_y:1.00 mse_u:1.00 mse_v:1.00 psnr_avg:48.13 psnr_y:48.13",
      "n:2 mse_avg:9.00 mse_y:9.00 mse_u:9.00 mse_v:9.00 psnr_avg:38.59 psnr_y:38.59",
    ].join("\n");
    const parsed = parsePsnrStats(text);
    assert.equal(parsed.frames, 2);
    assert.ok(Math.abs(parsed.psnrDb - 10 * Math.log10((255 * 255) / 5)) < 1e-9);
    assert.equal(psnrFromMse(0), PSNR_IDENTICAL_DB);
  });

  test("a stats file without frames is an error, not a perfect score", () => {
    assert.throws(() => parseSsimStats(""), /no frame/);
    assert.throws(() => parsePsnrStats("garbage"), /no frame/);
  });

  test("the comparison graph restarts both sides at 0 and chains ssim into psnr", () => {
    const graph = comparisonGraph([
      {
        distorted: "[1:v:0]",
        reference: "[v0]",
        ssimStatsFile: "/tmp/q/a.ssim.log",
        psnrStatsFile: "/tmp/q/a.psnr.log",
      },
    ]);
    assert.equal(
      graph,
      "[1:v:0]setpts=PTS-STARTPTS[qd0];[v0]setpts=PTS-STARTPTS,split[qr0a][qr0b];[qd0][qr0a]ssim=stats_file=/tmp/q/a.ssim.log[qs0];[qs0][qr0b]psnr=stats_file=/tmp/q/a.psnr.log[q0]",
    );
    assert.deepEqual(comparisonOutputs(2), ["-map", "[q0]", "-map", "[q1]", "-f", "null", "-"]);
  });

  test("a stats path that would break out of the filter option is refused", () => {
    for (const bad of ["/tmp/a:b.log", "/tmp/a;b.log", "relative.log", "/tmp/a b.log", "/tmp/a,b.log"]) {
      assert.throws(
        () =>
          comparisonGraph([{ distorted: "[a]", reference: "[b]", ssimStatsFile: bad, psnrStatsFile: "/tmp/ok.log" }]),
        /unsafe stats file/,
      );
    }
  });

  test("two raw RGB images are read with the rawvideo demuxer named, by file: path", () => {
    const args = imageComparisonArgs(
      { file: "/w/d.rgb", width: 4, height: 2 },
      { file: "/w/r.rgb", width: 4, height: 2 },
      { ssimStatsFile: "/w/s.log", psnrStatsFile: "/w/p.log" },
    );
    assert.deepEqual(args.slice(0, 12), [
      "-protocol_whitelist",
      "file,pipe",
      "-format_whitelist",
      "rawvideo",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "rgb24",
      "-s",
      "4x2",
      "-i",
      "file:/w/d.rgb",
    ]);
    assert.equal(args[23], "file:/w/r.rgb");
    assert.match(args[25]!, /^\[0:v\]format=yuv444p\[di\];\[1:v\]format=yuv444p\[ri\];\[di\]setpts/);
    assert.throws(
      () =>
        imageComparisonArgs(
          { file: "/w/d.rgb", width: 4, height: 2 },
          { file: "/w/r.rgb", width: 2, height: 4 },
          { ssimStatsFile: "/w/s.log", psnrStatsFile: "/w/p.log" },
        ),
      /differ in size/,
    );
  });
});

describe("SSIMULACRA2 output and compared region", () => {
  test("the score line of ssimulacra2_rs is parsed, negative scores included", () => {
    assert.equal(parseSsimulacra2Output("Score: 78.12345678\n"), 78.12345678);
    assert.equal(parseSsimulacra2Output("Score: -12.5"), -12.5);
    assert.throws(() => parseSsimulacra2Output("thread 'main' panicked"), /no score/);
  });

  test("images up to 4 MP are compared whole; larger ones on a centre crop of at most 4 MP", () => {
    assert.equal(comparedRegion(2048, 2048), undefined);
    assert.deepEqual(comparedRegion(6000, 4000), { left: 1976, top: 976, width: 2048, height: 2048 });
    const panorama = comparedRegion(10000, 1000)!;
    assert.equal(panorama.height, 1000);
    assert.ok(panorama.width * panorama.height <= MAX_COMPARED_PIXELS && panorama.width > 4000);
  });
});

describe("scores in the result", () => {
  const output = (variant: string, key: string): OutputFile => ({ key, variant, contentType: "x", bytes: 1 });

  test("each rung's score lands on its media playlist; segments and the master get none", () => {
    const outputs = [
      output("hls_master", "p/hls/master.m3u8"),
      output("hls_playlist", "p/hls/480p/index.m3u8"),
      output("hls_playlist", "p/hls/720p/index.m3u8"),
      output("poster", "p/x_poster.jpg"),
    ];
    const scored = withRenditionQuality(outputs, [
      { name: "480p", quality: { metric: "ssim", ssim: 0.95 } },
      { name: "720p", quality: { metric: "ssim", ssim: 0.97 } },
    ]);
    assert.deepEqual(
      scored.map((entry) => entry.quality?.ssim),
      [undefined, 0.95, 0.97, undefined],
    );
    assert.equal(withRenditionQuality(outputs, undefined), outputs);
  });

  test("the timeline detail lists each score and counts failures", () => {
    const detail = qualityStepDetail([
      { ...output("webp", "k1"), width: 10, height: 5, quality: { metric: "ssimulacra2", ssimulacra2: 81.234 } },
      { ...output("avif", "k2"), quality: { metric: "ssimulacra2", error: "ssimulacra2_rs missing" } },
      output("thumb_small", "k3"),
    ]);
    assert.deepEqual(detail, {
      metric: "ssimulacra2",
      failed: 1,
      scores: ["webp 10x5: ssimulacra2 81.2", "avif: failed (ssimulacra2_rs missing)"],
    });
    assert.equal(headlineScore({ metric: "ssim", ssim: 0.98765, psnrDb: 41.26 }), "ssim 0.9877 psnr 41.3 dB");
  });
});
