import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFile, readdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import type { MediaError } from "../../src/errors.ts";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { createVideoProcessor } from "../../src/processors/video.processor.ts";
import { processLocally, testConfig, type LocalRun, LOCAL_RUN } from "../helpers/process-locally.ts";
import {
  generateClip,
  generateUnknownDurationFragmentedMp4,
  generateVfrClip,
  type ClipOptions,
} from "../helpers/generate-video.ts";
import { verifyHlsTree } from "../helpers/verify-hls.ts";

/**
 * The video processor on generated clips with the real ffmpeg: ladder shape, orientation,
 * odd sizes, missing audio, a single frame, the MP4 fallback, fMP4 + extras, posters, limits.
 * Every HLS tree is checked like a player would (tests/helpers/verify-hls.ts).
 */

const SEGMENT_SECONDS = 1;
/** ultrafast keeps the suite quick; the production default stays veryfast. */
const BASE_ENV = { VIDEO_X264_PRESET: "ultrafast", VIDEO_HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) };

let dir: string;
const runs: LocalRun[] = [];

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-"));
});
after(async () => {
  await Promise.all(runs.map((run) => run.cleanup()));
  await rm(dir, { recursive: true, force: true });
});

async function processClip(
  clip: Omit<ClipOptions, "out"> & { name: string },
  env: Record<string, string> = {},
): Promise<LocalRun> {
  const file = await generateClip({ ...clip, out: path.join(dir, clip.name) });
  const config = testConfig({ ...BASE_ENV, ...env });
  const run = await processLocally(createVideoProcessor(config), file, {
    config,
    sourceKey: `tenants/t1/users/u1/media/${clip.name}`,
  });
  runs.push(run);
  return run;
}

const base = (name: string) => `tenants/t1/users/u1/media/processed/${name}.${LOCAL_RUN}`;
const masterOf = (run: LocalRun, name: string) => run.files.get(`${base(name)}/hls/master.m3u8`)!;
const sizes = (rungs: Array<{ width: number | undefined; height: number | undefined; hasVideo: boolean }>) =>
  rungs.filter((rung) => rung.hasVideo).map((rung) => `${rung.width}x${rung.height}`);

/** Mean RGB of a small box of an image, at fractions of its width and height. */
async function colourAt(file: string, fx: number, fy: number): Promise<[number, number, number]> {
  const image = sharp(file);
  const { width, height } = await image.metadata();
  const left = Math.round((width ?? 0) * fx) - 2;
  const top = Math.round((height ?? 0) * fy) - 2;
  const { data } = await image
    .extract({ left, top, width: 4, height: 4 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const mean = [0, 1, 2].map((channel) =>
    Math.round(
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].reduce(
        (sum, pixel) => sum + data[pixel * 3 + channel]!,
        0,
      ) / 16,
    ),
  );
  return mean as [number, number, number];
}
const isRed = ([r, g, b]: [number, number, number]) => r > 180 && g < 80 && b < 80;
const isCyan = ([r, g, b]: [number, number, number]) => r < 80 && g > 180 && b > 180;

describe("HLS ladder", () => {
  test("a 10-bit SDR clip's poster skips its black start too (the darkness threshold follows the bit depth)", async () => {
    const run = await processClip({
      name: "ten-bit.mp4",
      width: 640,
      height: 360,
      durationSec: 2,
      blackLeadInSec: 0.5,
      tenBit: true,
      audio: false,
    });
    assert.equal((run.result.metadata.video as { bitDepth: number }).bitDepth, 10);
    const poster = run.files.get(run.result.outputs.find((output) => output.variant === "poster")!.key)!;
    assert.ok(isRed(await colourAt(poster, 0.05, 0.5)), "the poster shows the test pattern, not black");
  });

  test("the HLS poster is the ladder run's own frame at the position: no second decode when that frame is not dark", async () => {
    const name = "bright-start.mp4";
    const run = await processClip({ name, width: 640, height: 360, durationSec: 2 });
    const workDir = path.join(path.dirname(run.outDir), "work");
    const files = await readdir(workDir);
    assert.ok(files.includes("poster-frame.png"), `the ladder wrote its frame: ${files.join(", ")}`);
    assert.ok(!files.includes("poster.png"), "the searching extractor (which writes poster.png) never ran");
    const entry = run.steps.find((step) => step.event === "poster")?.detail;
    assert.equal(entry?.["source"], "bright-frame");
    assert.equal(entry?.["atSec"], 0.2, "10 % of 2 s");
    const poster = run.files.get(`${base(name)}_poster.jpg`)!;
    const posterMeta = await sharp(poster).metadata();
    assert.deepEqual([posterMeta.width, posterMeta.height], [640, 360]);
    assert.ok(isRed(await colourAt(poster, 0.05, 0.5)), "the poster shows the test pattern");
  });

  test("the ladder's poster is made while the encode still runs: ffmpeg writes its frame when it arrives, not at exit", async () => {
    // A slower preset and an early position leave most of the encode after the frame.
    const run = await processClip(
      { name: "poster-during-encode.mp4", width: 640, height: 360, durationSec: 30 },
      { VIDEO_X264_PRESET: "slow", VIDEO_POSTER_POSITION_PERCENT: "2" },
    );
    const times = (event: string) => {
      const detail = run.steps.find((step) => step.event === event)?.detail;
      return { startedAt: Date.parse(String(detail?.["startedAt"])), endedAt: Date.parse(String(detail?.["endedAt"])) };
    };
    const encoded = times("encoded");
    const poster = times("poster");
    assert.equal(run.steps.find((step) => step.event === "poster")?.detail?.["source"], "bright-frame");
    assert.ok(
      poster.endedAt < encoded.endedAt,
      `poster ${poster.startedAt}–${poster.endedAt}, ffmpeg ${encoded.startedAt}–${encoded.endedAt}: made after the encode`,
    );
  });

  test("a dark frame at the position falls back to the searching extractor, which finds the pattern after it", async () => {
    const name = "dark-start.mp4";
    const run = await processClip({ name, width: 640, height: 360, durationSec: 2, blackLeadInSec: 0.5 });
    const files = await readdir(path.join(path.dirname(run.outDir), "work"));
    assert.ok(files.includes("poster-frame.png") && files.includes("poster.png"), files.join(", "));
    const poster = run.files.get(`${base(name)}_poster.jpg`)!;
    assert.ok(isRed(await colourAt(poster, 0.05, 0.5)), "the poster shows the test pattern, not black");
  });

  test("a 1080p landscape clip gives three rungs, each decoding for the whole duration, poster skipping the black start", async () => {
    const name = "landscape-1080.mp4";
    const run = await processClip({ name, width: 1920, height: 1080, durationSec: 2, blackLeadInSec: 0.5 });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["854x480", "1280x720", "1920x1080"]);
    assert.ok(rungs.every((rung) => rung.hasAudio && rung.attributes["CODECS"]?.includes("mp4a.40.2")));
    assert.equal(rungs[2]?.attributes["RESOLUTION"], "1920x1080");
    assert.equal(rungs[2]?.attributes["FRAME-RATE"], "10.000");
    assert.ok(
      rungs.every((rung) => rung.segmentDurations.length >= 2),
      "a 2 s clip in 1 s segments has at least two segments per rung",
    );

    // Content types and cache headers are decided here; the output layout nests the tree under <base>/hls/.
    const master = run.result.outputs.find((output) => output.variant === "hls_master");
    assert.equal(master?.key, `${base(name)}/hls/master.m3u8`);
    assert.equal(master?.contentType, "application/vnd.apple.mpegurl");
    assert.ok([...run.files.keys()].some((key) => key.endsWith("/hls/1080p/segment_00000.ts")));

    const poster = run.files.get(`${base(name)}_poster.jpg`)!;
    const posterMeta = await sharp(poster).metadata();
    assert.deepEqual([posterMeta.format, posterMeta.width, posterMeta.height], ["jpeg", 1920, 1080]);
    assert.equal((await sharp(run.files.get(`${base(name)}_poster.webp`)!).metadata()).format, "webp");
    // 10 % of 2 s lands in the black lead-in; the poster must be the pattern after it.
    assert.ok(isRed(await colourAt(poster, 0.05, 0.5)), "the poster shows the test pattern, not black");

    const metadata = run.result.metadata as {
      video: { width: number };
      hasAudio: boolean;
      hls: { renditions: unknown[] };
    };
    assert.equal(metadata.video.width, 1920);
    assert.equal(metadata.hasAudio, true);
    assert.equal(metadata.hls.renditions.length, 3);
    assert.deepEqual(
      run.steps.map((step) => step.event),
      ["probed", "planned", "encoded", "poster", "uploaded"],
    );
    assert.equal(run.progress.at(-1), 100);
    assert.ok(
      run.progress.every((value, index) => index === 0 || value > run.progress[index - 1]!),
      "progress only moves forward",
    );
  });

  test("a 720p clip gives two rungs: nothing is upscaled", async () => {
    const name = "landscape-720.mp4";
    const run = await processClip({ name, width: 1280, height: 720, durationSec: 2 });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["854x480", "1280x720"]);
    assert.equal((await sharp(run.files.get(`${base(name)}_poster.jpg`)!).metadata()).width, 1280);
  });

  test("a 1080x1920 portrait clip yields portrait rungs", async () => {
    const name = "portrait.mp4";
    const run = await processClip({ name, width: 1080, height: 1920, durationSec: 2, audio: false });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["480x854", "720x1280", "1080x1920"]);
  });

  test("a rotated phone video yields upright portrait rungs and poster", async () => {
    const name = "rotated.mp4";
    // Stored 1280x720 with a quarter-turn display matrix: displayed 720x1280.
    const run = await processClip({ name, width: 1280, height: 720, durationSec: 2, rotateDeg: 90 });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["480x854", "720x1280"]);
    const poster = run.files.get(`${base(name)}_poster.jpg`)!;
    assert.deepEqual([(await sharp(poster).metadata()).width, (await sharp(poster).metadata()).height], [720, 1280]);
    // testsrc2's red bar is its left edge; ffmpeg 5.1 reads the tag as a counter-clockwise turn, so red ends at the bottom.
    assert.ok(isRed(await colourAt(poster, 0.5, 0.95)), "red bar at the bottom");
    assert.ok(isCyan(await colourAt(poster, 0.5, 0.05)), "cyan bar at the top");
    // The rung frames are upright too (no display matrix left to apply): its first frame matches the poster's layout.
    const frame = path.join(dir, "rotated-rung.png");
    await runFfmpeg({
      args: ["-i", path.join(path.dirname(masterOf(run, name)), "720p", "index.m3u8"), "-frames:v", "1", "-y", frame],
      trustedInputs: true,
    });
    assert.deepEqual([(await sharp(frame).metadata()).width, (await sharp(frame).metadata()).height], [720, 1280]);
    assert.ok(isRed(await colourAt(frame, 0.5, 0.95)));
    assert.equal((run.result.metadata as { video: { rotationDeg: number } }).video.rotationDeg, 270);
  });

  test("odd dimensions (1279x721) encode to even rung sizes", async () => {
    const name = "odd.mkv";
    // 4:4:4 chroma lets the source itself have odd sides (4:2:0 H.264 cannot).
    const file = path.join(dir, name);
    await runFfmpeg({
      args: [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=1279x721:r=10",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv444p",
        "-y",
        file,
      ],
      trustedInputs: true,
    });
    const config = testConfig(BASE_ENV);
    const run = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}`,
    });
    runs.push(run);
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["852x480", "1278x720"]);
  });

  test("a video without audio has video-only rungs and no invented audio", async () => {
    const name = "silent.mp4";
    const run = await processClip({ name, width: 640, height: 360, durationSec: 2, audio: false });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["640x360"], "a source below the lowest rung gets one rung at its own size");
    assert.equal(rungs[0]?.hasAudio, false);
    assert.doesNotMatch(rungs[0]?.attributes["CODECS"] ?? "", /mp4a/);
    assert.equal((run.result.metadata as { hasAudio: boolean }).hasAudio, false);
  });

  test("with VIDEO_ADD_SILENT_AUDIO a video without audio gets a silent AAC track", async () => {
    const name = "silent-filled.mp4";
    const run = await processClip(
      { name, width: 640, height: 360, durationSec: 2, audio: false },
      { VIDEO_ADD_SILENT_AUDIO: "true" },
    );
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 2, segmentSeconds: SEGMENT_SECONDS });
    assert.equal(rungs[0]?.hasAudio, true);
    assert.match(rungs[0]?.attributes["CODECS"] ?? "", /mp4a\.40\.2/);
  });

  test("a 1-frame video completes with one segment per rung and a poster", async () => {
    const name = "one-frame.mp4";
    const run = await processClip({ name, width: 1280, height: 720, durationSec: 0.1, frames: 1, audio: false });
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 0.1, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["854x480", "1280x720"]);
    assert.ok(rungs.every((rung) => rung.segmentDurations.length === 1));
    assert.equal((await sharp(run.files.get(`${base(name)}_poster.jpg`)!).metadata()).width, 1280);
  });

  test("TS rungs get I-frame playlists, a keyframe every 2 s in 6 s segments by default, each decoding on its own", async () => {
    const name = "scrub.mp4";
    const run = await processClip(
      { name, width: 640, height: 360, durationSec: 6, fps: 25 },
      { VIDEO_HLS_SEGMENT_SECONDS: "6", VIDEO_AUDIO_ONLY_RENDITION: "true" },
    );
    const master = await readFile(masterOf(run, name), "utf8");
    assert.deepEqual(
      master
        .split("\n")
        .filter((line) => line.startsWith("#EXT-X-I-FRAME-STREAM-INF"))
        .map((line) => /URI="([^"]+)"/.exec(line)?.[1]),
      ["360p/iframes.m3u8"],
    );
    // verifyHlsTree decodes every I-frame entry alone and checks they cover the rung.
    const [rung] = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 6, segmentSeconds: 6 });
    assert.equal(rung?.segmentDurations.length, 1);
    const iframes = await readFile(run.files.get(`${base(name)}/hls/360p/iframes.m3u8`)!, "utf8");
    assert.equal(iframes.split("\n").filter((line) => line.startsWith("#EXT-X-BYTERANGE:")).length, 3, iframes);
    assert.deepEqual(
      run.result.metadata["hls"] &&
        (run.result.metadata["hls"] as { iFramePlaylists: string[]; keyframeSeconds: number }).keyframeSeconds,
      2,
    );
  });

  test("fMP4 segments, an audio-only rendition and a storyboard when configured", async () => {
    const name = "extras.mp4";
    const run = await processClip(
      { name, width: 1280, height: 720, durationSec: 3 },
      { VIDEO_HLS_SEGMENT_FORMAT: "fmp4", VIDEO_AUDIO_ONLY_RENDITION: "true", VIDEO_STORYBOARD: "true" },
    );
    const rungs = await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 3, segmentSeconds: SEGMENT_SECONDS });
    assert.deepEqual(sizes(rungs), ["854x480", "1280x720"]);
    const audioOnly = rungs.find((rung) => !rung.hasVideo);
    assert.equal(audioOnly?.uri, "audio/index.m3u8");
    // One fragment per fMP4 segment: its keyframes are not separately addressable, so no I-frame playlist.
    assert.doesNotMatch(await readFile(masterOf(run, name), "utf8"), /EXT-X-I-FRAME-STREAM-INF/);
    assert.equal(audioOnly?.attributes["CODECS"], "mp4a.40.2");
    assert.equal(audioOnly?.attributes["RESOLUTION"], undefined);

    const keys = [...run.files.keys()];
    assert.ok(
      keys.some((key) => /\/hls\/720p\/init(_\d+)?\.mp4$/.test(key)),
      "an init segment per rung",
    );
    assert.ok(keys.some((key) => key.endsWith("/hls/720p/segment_00000.m4s")));
    const vtt = await readFile(run.files.get(`${base(name)}/storyboard/storyboard.vtt`)!, "utf8");
    assert.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> 00:00:01\.000\nsprite\.jpg#xywh=0,0,160,90\n/);
    const sprite = await sharp(run.files.get(`${base(name)}/storyboard/sprite.jpg`)!).metadata();
    assert.deepEqual([sprite.width, sprite.height], [480, 90]);
  });
});

describe("variable frame rate (phone motion photos, screen recordings)", () => {
  const execFileAsync = promisify(execFile);
  /** Presentation times of the video packets of a file or playlist, sorted. */
  async function frameTimes(file: string): Promise<number[]> {
    const { stdout } = await execFileAsync("ffprobe", [
      "-v",
      "error",
      "-select_streams",
      "v:0",
      "-show_entries",
      "packet=pts_time",
      "-of",
      "json",
      file,
    ]);
    return (JSON.parse(stdout) as { packets: Array<{ pts_time: string }> }).packets
      .map((packet) => Number(packet.pts_time))
      .sort((a, b) => a - b);
  }

  for (const format of ["mpegts", "fmp4"] as const) {
    test(`53 frames averaging 30 fps on a 120 fps grid stay 53 frames at their own times (${format}); FRAME-RATE is the real rate`, async () => {
      const name = `vfr-${format}.mp4`;
      const file = await generateVfrClip({ width: 640, height: 360, frames: 53, out: path.join(dir, name) });
      const config = testConfig({ ...BASE_ENV, VIDEO_HLS_SEGMENT_FORMAT: format });
      const run = await processLocally(createVideoProcessor(config), file, {
        config,
        sourceKey: `tenants/t1/users/u1/media/${name}`,
      });
      runs.push(run);
      // verifyHlsTree checks FRAME-RATE against the rung's frames over its duration, and CODECS against its SPS.
      const [rung] = await verifyHlsTree(masterOf(run, name), {
        sourceDurationSec: 1.74,
        segmentSeconds: SEGMENT_SECONDS,
      });
      const times = await frameTimes(run.files.get(`${base(name)}/hls/${rung!.uri}`)!);
      assert.equal(times.length, 53, "every frame once, none duplicated");
      assert.ok(
        Math.abs(Number(rung!.attributes["FRAME-RATE"]) - 30.43) < 0.5,
        `FRAME-RATE=${rung!.attributes["FRAME-RATE"]}`,
      );
      // The source's 25 ms / 41.7 ms cadence survives (a constant-rate output has one gap only).
      const gaps = new Set(times.slice(1).map((time, index) => Math.round((time - times[index]!) * 1000)));
      assert.deepEqual([...gaps].sort(), [25, 42]);
    });
  }

  test("a burst above VIDEO_MAX_FPS is thinned to the cap: no two frames closer than 1/60 s", async () => {
    const name = "vfr-burst.mp4";
    const file = await generateVfrClip({
      width: 640,
      height: 360,
      frames: 80,
      burstFrames: 30,
      audio: true,
      out: path.join(dir, name),
    });
    const config = testConfig({ ...BASE_ENV, VIDEO_MAX_FPS: "60" });
    const run = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}`,
    });
    runs.push(run);
    const [rung] = await verifyHlsTree(masterOf(run, name), {
      sourceDurationSec: 1.85,
      segmentSeconds: SEGMENT_SECONDS,
    });
    const times = await frameTimes(run.files.get(`${base(name)}/hls/${rung!.uri}`)!);
    // 30 burst frames at 120 fps (0.25 s) become 15 at 60 fps; the 50 regular frames stay.
    assert.equal(times.length, 65);
    const closest = Math.min(...times.slice(1).map((time, index) => time - times[index]!));
    assert.ok(closest >= 1 / 60 - 0.001, `two frames ${closest} s apart`);
    assert.ok(Number(rung!.attributes["FRAME-RATE"]) <= 60);
  });

  test("the web MP4 of a VFR clip keeps its 53 frames too", async () => {
    const name = "vfr-web.mp4";
    const file = await generateVfrClip({ width: 640, height: 360, frames: 53, out: path.join(dir, name) });
    const config = testConfig({ ...BASE_ENV, ENABLE_HLS_TRANSCODING: "false" });
    const run = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}`,
    });
    runs.push(run);
    const times = await frameTimes(run.files.get(`${base(name)}_web.mp4`)!);
    assert.equal(times.length, 53);
  });
});

describe("web MP4 when HLS is off", () => {
  test("one faststart H.264/AAC MP4 capped at the top rung, plus the poster", async () => {
    const name = "big.mp4";
    const run = await processClip(
      { name, width: 1920, height: 1080, durationSec: 2 },
      { ENABLE_HLS_TRANSCODING: "false", VIDEO_HLS_RUNGS: "360:800k:96k,720:2800k:128k" },
    );
    assert.ok(![...run.files.keys()].some((key) => key.includes("/hls/")));
    const mp4 = run.result.outputs.find((output) => output.variant === "web_mp4");
    assert.equal(mp4?.key, `${base(name)}_web.mp4`);
    assert.deepEqual([mp4?.contentType, mp4?.width, mp4?.height], ["video/mp4", 1280, 720]);
    const bytes = await readFile(run.files.get(mp4!.key)!);
    assert.ok(bytes.indexOf("moov") < bytes.indexOf("mdat"), "faststart puts the moov box before the media data");
    const probe = await import("../../src/media/ffprobe.ts").then(({ probeMedia }) =>
      probeMedia(run.files.get(mp4!.key)!),
    );
    assert.deepEqual([probe.video?.codec, probe.audio?.codec, probe.video?.width], ["h264", "aac", 1280]);
    assert.ok(Math.abs((probe.durationSec ?? 0) - 2) < 0.2);
    assert.equal((await sharp(run.files.get(`${base(name)}_poster.jpg`)!).metadata()).width, 1280);
  });
});

describe("limits and refusals", () => {
  test("a video over VIDEO_MAX_DURATION fails before encoding", async () => {
    const name = "long.mp4";
    const file = await generateClip({ width: 320, height: 240, durationSec: 3, out: path.join(dir, name) });
    const config = testConfig({ ...BASE_ENV, VIDEO_MAX_DURATION: "2" });
    await assert.rejects(
      processLocally(createVideoProcessor(config), file, { config }),
      (error: MediaError) => error.category === "processing" && error.code === "video-too-long",
    );
  });

  test("a 1 s fragmented MP4 whose headers say 'unknown' (all ones) is measured, not refused as 279620 s long", async () => {
    const name = "live-fragments.mp4";
    const file = await generateUnknownDurationFragmentedMp4({ durationSec: 1, out: path.join(dir, name) });
    const config = testConfig(BASE_ENV);
    const run = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: `tenants/t1/users/u1/media/${name}`,
    });
    runs.push(run);
    const durationSec = run.result.metadata["durationSec"] as number;
    assert.ok(Math.abs(durationSec - 1) < 0.1, `duration ${durationSec}`);
    assert.deepEqual(run.steps.find((step) => step.event === "duration-scanned")?.detail?.["reason"], "unknown");
    await verifyHlsTree(masterOf(run, name), { sourceDurationSec: 1, segmentSeconds: SEGMENT_SECONDS });
    // With a cap below its real length it is still refused, by the measured length.
    const capped = testConfig({ ...BASE_ENV, VIDEO_MAX_DURATION: "1" });
    const clip = await generateUnknownDurationFragmentedMp4({ durationSec: 2, out: path.join(dir, "live-2s.mp4") });
    await assert.rejects(
      processLocally(createVideoProcessor(capped), clip, { config: capped }),
      (error: MediaError) => error.code === "video-too-long" && /lasts 2 s/.test(error.message),
    );
  });

  test("a raw MPEG-1 stream's length is measured, not ffprobe's bitrate guess", async () => {
    const file = path.join(dir, "raw.m1v");
    await runFfmpeg({
      args: [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=2",
        "-c:v",
        "mpeg1video",
        "-b:v",
        "500k",
        "-f",
        "mpeg1video",
        "-y",
        file,
      ],
      trustedInputs: true,
    });
    const config = testConfig(BASE_ENV);
    const run = await processLocally(createVideoProcessor(config), file, {
      config,
      sourceKey: "tenants/t1/users/u1/media/raw.m1v",
    });
    runs.push(run);
    assert.ok(
      Math.abs((run.result.metadata["durationSec"] as number) - 2) < 0.1,
      `duration ${String(run.result.metadata["durationSec"])}`,
    );
  });

  test("a frame over VIDEO_MAX_PIXELS fails before encoding", async () => {
    const file = await generateClip({ width: 640, height: 480, durationSec: 1, out: path.join(dir, "wide.mp4") });
    const config = testConfig({ ...BASE_ENV, VIDEO_MAX_PIXELS: String(640 * 480 - 1) });
    await assert.rejects(
      processLocally(createVideoProcessor(config), file, { config }),
      (error: MediaError) => error.code === "video-too-large",
    );
  });

  test("an MP4 holding only audio is refused with no-video-stream", async () => {
    const file = path.join(dir, "voice.mp4");
    await runFfmpeg({ args: ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", "-y", file], trustedInputs: true });
    const config = testConfig(BASE_ENV);
    await assert.rejects(
      processLocally(createVideoProcessor(config), file, { config }),
      (error: MediaError) => error.category === "processing" && error.code === "no-video-stream",
    );
  });

  test("the processor accepts video media only", () => {
    const processor = createVideoProcessor(testConfig());
    assert.equal(processor.accepts({ kind: "video", format: "mp4", mime: "video/mp4" }), true);
    assert.equal(processor.accepts({ kind: "audio", format: "m4a", mime: "audio/mp4" }), false);
    assert.equal(processor.accepts({ kind: "playlist", format: "hls", mime: "application/vnd.apple.mpegurl" }), false);
  });
});
