import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { scoreEncodedImage } from "../../src/processors/quality/image-quality.ts";
import { createImageProcessor } from "../../src/processors/image.processor.ts";
import type { OutputFile } from "../../src/processors/processor.ts";
import { createVideoProcessor } from "../../src/processors/video.processor.ts";
import { processLocally, testConfig, type LocalRun } from "../helpers/process-locally.ts";

/**
 * The quality-score wiring on tiny generated inputs with the real tools: ffmpeg's SSIM/PSNR (no
 * build needed anywhere ffmpeg is) for every check, SSIMULACRA2 when `ssimulacra2_rs` is
 * installed (scripts/install-quality-tools.sh). A very low quality re-encode must score clearly
 * worse than a high quality one, through the metric itself and through each processor's hook.
 */

let dir: string;
const runs: LocalRun[] = [];
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-quality-"));
});
after(async () => {
  await Promise.all(runs.map((run) => run.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

/** A 320×240 photo-like picture: soft shapes on a gradient, grain, a line of text. */
async function photoLike(): Promise<Buffer> {
  const svg = `<svg width="320" height="240" xmlns="http://www.w3.org/2000/svg">
    <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1d2b64"/><stop offset="1" stop-color="#f8a13f"/></linearGradient></defs>
    <rect width="320" height="240" fill="url(#g)"/><circle cx="90" cy="100" r="60" fill="#e74c3c" fill-opacity="0.7"/>
    <rect x="170" y="60" width="110" height="80" fill="#27ae60" fill-opacity="0.8"/>
    <text x="20" y="220" font-family="DejaVu Sans" font-size="18" fill="#fff">quality 1234567890</text></svg>`;
  const grainy = await sharp({
    create: {
      width: 320,
      height: 240,
      channels: 3,
      background: "#808080",
      noise: { type: "gaussian", mean: 128, sigma: 12 },
    },
  })
    .png()
    .toBuffer();
  return sharp(Buffer.from(svg))
    .composite([{ input: grainy, blend: "soft-light" }])
    .removeAlpha()
    .png()
    .toBuffer();
}

function ssimulacra2Binary(): string | undefined {
  for (const candidate of ["ssimulacra2_rs", path.join(os.homedir(), ".cargo", "bin", "ssimulacra2_rs")]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

const byVariant = (run: LocalRun) => new Map(run.result.outputs.map((output) => [output.variant, output] as const));

describe("image scores", () => {
  test("a JPEG at quality 5 scores clearly worse than one at quality 95 (ffmpeg SSIM and PSNR); the source against itself is perfect", async () => {
    const png = await photoLike();
    const score = async (quality: number) =>
      scoreEncodedImage(sharp(png), await sharp(png).jpeg({ quality }).toBuffer(), {
        metrics: ["ssim"],
        workDir: dir,
        name: `jpeg-${quality}`,
      });
    const low = await score(5);
    const high = await score(95);
    // Measured with sharp 0.35 / ffmpeg 5.1: q5 0.802 / 30.6 dB, q95 0.902 / 38.9 dB (the grain keeps SSIM well below 1).
    assert.ok(high.ssim! > 0.88, `q95 SSIM ${high.ssim}`);
    assert.ok(high.ssim! - low.ssim! > 0.06, `q5 SSIM ${low.ssim} vs q95 ${high.ssim}`);
    assert.ok(high.psnrDb! - low.psnrDb! > 5, `q5 PSNR ${low.psnrDb} vs q95 ${high.psnrDb}`);
    assert.deepEqual([low.comparedWidth, low.comparedHeight, low.cropped], [320, 240, false]);
    const same = await scoreEncodedImage(sharp(png), png, { metrics: ["ssim"], workDir: dir, name: "same" });
    assert.equal(same.ssim, 1);
    assert.equal(same.psnrDb, 100);
  });

  const ssimulacra2 = ssimulacra2Binary();
  test("SSIMULACRA2 ranks a quality 5 WebP far below a quality 95 one", {
    skip: ssimulacra2 ? false : "ssimulacra2_rs is not installed (bash scripts/install-quality-tools.sh)",
  }, async () => {
    const png = await photoLike();
    const score = async (quality: number) =>
      (
        await scoreEncodedImage(sharp(png), await sharp(png).webp({ quality }).toBuffer(), {
          metrics: ["ssimulacra2"],
          workDir: dir,
          name: `webp-${quality}`,
          ssimulacra2Binary: ssimulacra2,
        })
      ).ssimulacra2!;
    const low = await score(5);
    const high = await score(95);
    // Measured: q5 30.7, q95 82.8.
    assert.ok(high > 75, `q95 SSIMULACRA2 ${high}`);
    assert.ok(high - low > 30, `q5 ${low} vs q95 ${high}`);
  });

  test("the output is compared at its own size: a thumbnail is scored against the source shrunk to the thumbnail", async () => {
    const png = await photoLike();
    const thumb = await sharp(png).resize(80, 60).webp({ quality: 90 }).toBuffer();
    const scores = await scoreEncodedImage(sharp(png), thumb, { metrics: ["ssim"], workDir: dir, name: "thumb" });
    assert.deepEqual([scores.comparedWidth, scores.comparedHeight], [80, 60]);
    assert.ok(scores.ssim! > 0.9, `thumbnail SSIM ${scores.ssim}`);
  });

  async function processPhoto(env: Record<string, string>, name: string): Promise<LocalRun> {
    const file = path.join(dir, `${name}.png`);
    await sharp(await photoLike()).toFile(file);
    const config = testConfig(env);
    const run = await processLocally(createImageProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}.png`,
    });
    runs.push(run);
    return run;
  }

  test("with QUALITY_SCORES every variant carries its score at its own size, and a low WebP quality shows in the WebP variants' scores", async () => {
    const low = await processPhoto({ QUALITY_SCORES: "true", IMAGE_WEBP_QUALITY: "5" }, "low");
    const high = await processPhoto({ QUALITY_SCORES: "true", IMAGE_WEBP_QUALITY: "95" }, "high");
    for (const output of high.result.outputs) {
      assert.equal(output.quality?.metric, "ssim", `${output.variant} has a score`);
      assert.equal(output.quality?.error, undefined, `${output.variant}: ${output.quality?.error}`);
      assert.deepEqual(
        [output.quality?.comparedWidth, output.quality?.comparedHeight],
        [output.width, output.height],
        output.variant,
      );
      assert.ok(
        output.quality!.ssim! > 0.8 && output.quality!.ssim! <= 1,
        `${output.variant} SSIM ${output.quality!.ssim}`,
      );
    }
    // The optimized original of a truecolour PNG is lossless: identical to the source.
    const optimized = byVariant(high).get("optimized")!.quality!.ssim!;
    assert.equal(optimized, 1, `optimized PNG SSIM ${optimized}`);
    for (const variant of ["webp", "thumb_large"]) {
      const lowScore = byVariant(low).get(variant)!.quality!.ssim!;
      const highScore = byVariant(high).get(variant)!.quality!.ssim!;
      assert.ok(highScore - lowScore > 0.04, `${variant}: q5 SSIM ${lowScore} vs q95 ${highScore}`);
    }
    const step = high.steps.find((entry) => entry.event === "quality-scored");
    assert.equal((step?.detail?.["scores"] as string[] | undefined)?.length, 6);
  });

  test("without QUALITY_SCORES no output carries a score and no scoring step runs", async () => {
    const run = await processPhoto({}, "plain");
    assert.ok(run.result.outputs.every((output) => output.quality === undefined));
    assert.equal(
      run.steps.some((entry) => entry.event === "quality-scored"),
      false,
    );
  });

  test("a missing metric tool is recorded on each output's score and the job still delivers every output", async () => {
    const run = await processPhoto(
      {
        QUALITY_SCORES: "true",
        QUALITY_IMAGE_METRIC: "ssimulacra2",
        QUALITY_SSIMULACRA2_PATH: path.join(dir, "no-such-ssimulacra2"),
      },
      "missing-tool",
    );
    assert.equal(run.result.outputs.length, 6);
    for (const output of run.result.outputs) {
      assert.equal(output.quality?.metric, "ssimulacra2");
      assert.match(output.quality?.error ?? "", /ssimulacra2/, output.variant);
      assert.ok(existsSync(run.files.get(output.key)!), `${output.variant} was stored`);
    }
  });
});

describe("video scores and the content-aware ladder", () => {
  /**
   * A 640×360 10 fps clip from a lavfi source (nothing committed). Motion JPEG at a fixed high
   * quality keeps the source's bitrate high whatever the content, so the ladder's cap at 1.5×
   * the source bitrate never decides a rung's bitrate in these tests.
   */
  async function clip(name: string, source: string, durationSec: number): Promise<string> {
    const file = path.join(dir, `${name}.mov`);
    const input = `${source}${source.includes("=") ? ":" : "="}s=640x360:r=10:d=${durationSec}`;
    await runFfmpeg({
      args: ["-f", "lavfi", "-i", input, "-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p", "-y", file],
      trustedInputs: true,
    });
    return file;
  }
  const VIDEO_ENV = { VIDEO_X264_PRESET: "ultrafast", VIDEO_HLS_SEGMENT_SECONDS: "1" };
  async function processClip(file: string, env: Record<string, string>): Promise<LocalRun> {
    const config = testConfig({ ...VIDEO_ENV, ...env });
    const run = await processLocally(createVideoProcessor(config), file, { config });
    runs.push(run);
    return run;
  }
  const rungPlaylists = (run: LocalRun): OutputFile[] =>
    run.result.outputs.filter((output) => /\/hls\/[^/]+\/index\.m3u8$/.test(output.key));

  test("an HLS rung starved of bits scores clearly worse than the same rung given plenty, each score on its playlist", async () => {
    const file = await clip("pattern", "testsrc2", 3);
    const starved = await processClip(file, { QUALITY_SCORES: "true", VIDEO_HLS_RUNGS: "360:150k:64k" });
    const plenty = await processClip(file, { QUALITY_SCORES: "true", VIDEO_HLS_RUNGS: "360:4000k:64k" });
    const [low] = rungPlaylists(starved);
    const [high] = rungPlaylists(plenty);
    assert.ok(low?.quality && high?.quality, "each rung playlist carries a score");
    assert.equal(high.quality.frames, 30);
    assert.deepEqual([high.quality.comparedWidth, high.quality.comparedHeight], [640, 360]);
    assert.ok(high.quality.ssim! > 0.97, `4000k SSIM ${high.quality.ssim}`);
    // Measured: 150k SSIM 0.972, 4000k 0.9999 (testsrc2 is easy to encode).
    assert.ok(
      high.quality.ssim! - low.quality.ssim! > 0.015,
      `150k SSIM ${low.quality.ssim} vs 4000k ${high.quality.ssim}`,
    );
    assert.ok(
      high.quality.psnrDb! - low.quality.psnrDb! > 4,
      `150k PSNR ${low.quality.psnrDb} vs 4000k ${high.quality.psnrDb}`,
    );
    assert.ok(low.quality.ssimMin! <= low.quality.ssim!);
    assert.ok(
      plenty.result.outputs
        .filter((output) => output.quality !== undefined)
        .every((output) => output.variant === "hls_playlist"),
      "only rung playlists carry scores",
    );
  });

  test("the web MP4 carries its score; fMP4 rungs are scored from init segment and fragments", async () => {
    const file = await clip("pattern-mp4", "testsrc2", 2);
    const mp4 = await processClip(file, { QUALITY_SCORES: "true", ENABLE_HLS_TRANSCODING: "false" });
    const web = mp4.result.outputs.find((output) => output.variant === "web_mp4")!;
    assert.ok(web.quality!.ssim! > 0.9, `web MP4 SSIM ${web.quality?.ssim}: ${web.quality?.error}`);
    const fmp4 = await processClip(file, {
      QUALITY_SCORES: "true",
      VIDEO_HLS_SEGMENT_FORMAT: "fmp4",
      VIDEO_HLS_RUNGS: "180:400k:64k,360:1500k:96k",
    });
    const scores = rungPlaylists(fmp4).map((output) => output.quality);
    assert.equal(scores.length, 2);
    for (const score of scores) assert.ok(score?.ssim !== undefined && score.frames === 20, JSON.stringify(score));
  });

  test("content-aware: an easy clip gets fewer bits than the fixed rung, a noisy one keeps the configured bitrate", async () => {
    const easy = await clip("easy", "smptebars", 3);
    const noisy = await clip("noisy-source", "testsrc2", 3).then(async (pattern) => {
      const file = path.join(dir, "noisy.mov");
      await runFfmpeg({
        args: [
          "-i",
          pattern,
          "-vf",
          "noise=alls=60:allf=t",
          "-c:v",
          "mjpeg",
          "-q:v",
          "2",
          "-pix_fmt",
          "yuvj420p",
          "-y",
          file,
        ],
        trustedInputs: true,
      });
      return file;
    });
    const env = {
      VIDEO_CONTENT_AWARE_LADDER: "true",
      VIDEO_CONTENT_PROBE_CRF: "23",
      VIDEO_HLS_RUNGS: "360:1000k:64k",
      QUALITY_SCORES: "true",
    };
    /** `360p probe 26k → CRF 23 capped at 150k (of 715k)` → [probe, cap, configured]. */
    const fitted = (run: LocalRun): number[] => {
      const line =
        (run.steps.find((entry) => entry.event === "content-probed")?.detail?.["rungs"] as string[] | undefined)?.[0] ??
        "";
      const match = /^360p probe (\d+)k → CRF 23 capped at (\d+)k \(of (\d+)k\)$/.exec(line);
      assert.ok(match, `content-probed step: "${line}"`);
      return match.slice(1).map(Number);
    };
    const easyRun = await processClip(easy, env);
    const [easyProbe, easyKbps, easyConfigured] = fitted(easyRun);
    assert.ok(
      easyProbe! < easyConfigured! / 4 && easyKbps! <= easyConfigured! / 2,
      `colour bars: probe ${easyProbe}k → cap ${easyKbps}k of ${easyConfigured}k`,
    );
    const planned = easyRun.steps.find((entry) => entry.event === "planned")!.detail!["rungs"] as string[];
    assert.deepEqual(
      planned,
      [`360p 640x360 ${easyConfigured}k+64k`],
      "the plan is the fixed ladder; the probe only lowers it",
    );
    assert.ok(
      rungPlaylists(easyRun)[0]!.quality!.ssim! > 0.98,
      `the easy clip still scores high: ${rungPlaylists(easyRun)[0]!.quality!.ssim}`,
    );
    const noisyRun = await processClip(noisy, { ...env, VIDEO_HLS_RUNGS: "360:300k:64k" });
    const contentProbed = noisyRun.steps.find((entry) => entry.event === "content-probed");
    const noisyLine = (contentProbed?.detail?.["rungs"] as string[] | undefined)?.[0] ?? "(no content-probed entry)";
    assert.match(noisyLine, /^360p probe \d+k ≥ 300k: the fixed rung$/, "hard content keeps the fixed rung");
    const fixed = await processClip(easy, { VIDEO_HLS_RUNGS: "360:1000k:64k" });
    assert.equal(
      fixed.steps.some((entry) => entry.event === "content-probed"),
      false,
      "off by default",
    );
    const segmentBytes = (run: LocalRun) =>
      [...run.files.entries()]
        .filter(([key]) => key.endsWith(".ts"))
        .reduce((sum, [, file]) => sum + Number(execFileSync("stat", ["-c", "%s", file]).toString()), 0);
    assert.ok(
      segmentBytes(easyRun) < segmentBytes(fixed),
      `content-aware ${segmentBytes(easyRun)} B vs fixed ${segmentBytes(fixed)} B`,
    );
  });
});
