import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { AppConfig } from "../config/config.ts";
import { processingError, toMediaError, type MediaError } from "../errors.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import { runFfmpeg } from "../media/ffmpeg.runner.ts";
import { durationScanReason, scanDuration } from "../media/duration-scan.ts";
import { assertDecodable, probeMedia, type MediaProbe, type VideoStreamProbe } from "../media/ffprobe.ts";
import { VIDEO_DEMUXERS } from "../media/safe-input.ts";
import type { OutputFile, OutputRequest, ProcessContext, ProcessResult, Processor } from "./processor.ts";
import { runSteps, type Step, type StepContext } from "./step-runner.ts";
import { expectedOutputFps, type VideoEncodeSource } from "./video/encode-options.ts";
import { AUDIO_ONLY_NAME, hlsLadderArgs } from "./video/hls-command.ts";
import { hlsOutputRequests, IMMUTABLE_CACHE_CONTROL, uploadAll } from "./video/hls-uploads.ts";
import { HlsSegmentUploader } from "./video/hls-segment-uploader.ts";
import { planLadder, type PlannedRung } from "./video/ladder-plan.ts";
import { buildMasterPlaylist } from "./video/master-playlist.ts";
import { buildChunkPlan, chunkingUnsupported, planChunks } from "./video/chunk-plan.ts";
import { webMp4Args } from "./video/mp4-command.ts";
import { extractPoster, posterFromFrame, posterPositionSec, type PosterFiles } from "./video/poster.ts";
import {
  measureRendition,
  writeIFramePlaylist,
  type KnownRendition,
  type RenditionStats,
} from "./video/rendition-stats.ts";
import { makeStoryboard } from "./video/storyboard.ts";
import { toneMapSourceOf, type ToneMapSource } from "./video/tone-map.ts";
import { fitLadderToContent } from "./video/content-probe.ts";
import { scoreVideoOutputs, withRenditionQuality } from "./quality/video-quality.ts";

/**
 * Video: probe → check limits → plan the ladder → encode (one-pass HLS ladder, or a web MP4
 * when HLS is off) → optional quality scores → poster → optional storyboard → upload: the
 * PLAN_STEPS then ENCODE_STEPS lists (a chunked video stops after the first), run by step-runner.ts, which checks the AbortSignal between steps (the
 * signal kills ffmpeg within a step).
 *
 * The steps overlap where they can (issue 20): with HLS the poster's frame comes from the
 * ladder run's own decode (no second decode; JPEG and WebP made as soon as ffmpeg has written it, the searching
 * extractor only when that frame is dark or missing); the storyboard, and the web MP4's poster,
 * read the source beside the encode; HLS segments go up while ffmpeg writes the next ones
 * (hls-segment-uploader.ts), the playlists and the master last. The timeline keeps
 * its order (probed, planned, encoded, poster, uploaded); each of those entries carries the
 * step's own `startedAt`/`endedAt`, which is where the overlap shows.
 */
export function createVideoProcessor(_config: AppConfig): Processor {
  return {
    name: "video",
    accepts: (media: DetectedMedia) => media.kind === "video",
    process: (ctx) => processVideo(ctx),
  };
}

const UPLOAD_PARALLELISM = 6;

interface Source {
  probe: MediaProbe;
  video: VideoStreamProbe;
  demuxer: string;
  durationSec: number | undefined;
  encode: VideoEncodeSource;
  /** Set when an HDR source is tone-mapped to SDR BT.709 (renditions, poster, storyboard alike). */
  toneMap: ToneMapSource | undefined;
}

type Encoded =
  | {
      kind: "hls";
      dir: string;
      renditions: RenditionStats[];
      iFramePlaylists: string[];
      elapsedMs: number;
      uploader: HlsSegmentUploader;
    }
  | { kind: "mp4"; file: string; rung: PlannedRung; durationSec: number | undefined; elapsedMs: number };

/** A step's result with when it ran (epoch ms), for its timeline entry. */
interface Timed<T> {
  value: T;
  startedAt: number;
  endedAt: number;
}

type Storyboard = Awaited<ReturnType<typeof makeStoryboard>>;

/** The poster and storyboard, running beside the encode. */
interface SideSteps {
  poster: Promise<Timed<PosterFiles>>;
  storyboard: Promise<Timed<Storyboard> | undefined>;
}

/** What the steps learn and make, filled in as they run. */
interface VideoRun {
  source: Source;
  rungs: PlannedRung[];
  /** Stops everything that runs at once: a failed upload or side step stops the encode, and a failed encode stops the side steps. */
  stop: AbortController;
  uploader: HlsSegmentUploader | undefined;
  side: SideSteps;
  encoded: Encoded;
  quality: Awaited<ReturnType<typeof scoreVideoOutputs>> | undefined;
  poster: Timed<PosterFiles>;
  storyboard: Timed<Storyboard> | undefined;
  outputs: OutputFile[];
  /** Set when the chunk step handed the job to chunk tasks. */
  handedOff: { chunks: number } | undefined;
}

/**
 * The video steps, run in this order by the step runner (which checks the abort signal between
 * them). The spans are each step's share of the job's progress: encoding dominates the wall time.
 * The encode step starts the poster and storyboard beside itself; their steps await them.
 */
const PLAN_STEPS: readonly Step<VideoRun>[] = [
  {
    name: "probe",
    entry: "probed",
    span: [0, 2],
    run: async (run, step) => {
      run.source = await probeStep(step);
      step.report(1);
    },
  },
  {
    name: "plan",
    entry: "planned",
    run: async (run, step) => {
      const { ctx } = step;
      const planned = planStep(step, run.source);
      // VIDEO_CONTENT_AWARE_LADDER (off by default): rung bitrates fitted to the content by a probe encode (HLS only).
      run.rungs =
        ctx.config.video.contentAwareLadder && ctx.config.video.hlsEnabled
          ? await fitLadderToContent(ctx, {
              demuxer: run.source.demuxer,
              source: run.source.encode,
              settings: encodeSettings(ctx.config),
              rungs: planned,
            })
          : planned;
    },
  },
  {
    name: "chunk",
    entry: "chunked",
    run: async (run, step) => {
      // VIDEO_CHUNK_SECONDS (off by default): a long video goes to chunk tasks across the fleet instead.
      const { ctx } = step;
      const handOff = ctx.handOffChunks;
      if (!handOff || ctx.config.video.chunkSeconds <= 0) return;
      const chunks = planChunks({
        durationSec: run.source.durationSec,
        segmentSeconds: ctx.config.video.segmentSeconds,
        chunkSeconds: ctx.config.video.chunkSeconds,
        firstSeconds: ctx.config.video.chunkFirstSeconds,
      });
      if (!chunks) return;
      const unsupported = chunkingUnsupported(ctx.config, run.source.encode);
      if (unsupported) {
        step.record({ chunked: false, chunks: chunks.length, onePassBecause: unsupported });
        return;
      }
      const { source } = run;
      await handOff(
        buildChunkPlan({
          demuxer: source.demuxer,
          source: source.encode,
          display: {
            width: source.video.displayWidth,
            height: source.video.displayHeight,
            bitDepth: source.video.bitDepth,
          },
          rungs: run.rungs,
          settings: encodeSettings(ctx.config),
          chunks,
        }),
      );
      run.handedOff = { chunks: chunks.length };
      step.record({
        chunked: true,
        chunks: chunks.length,
        firstChunkSeconds: chunks[1]!.startSec,
        chunkSeconds: (chunks[2]?.startSec ?? run.source.durationSec ?? 0) - chunks[1]!.startSec,
      });
    },
  },
];

/** Encode to upload: skipped when the chunk step handed the job to chunk tasks. */
const ENCODE_STEPS: readonly Step<VideoRun>[] = [
  {
    name: "encode",
    entry: "encoded",
    span: [2, 85],
    run: async (run, step) => {
      const { ctx } = step;
      const { source, rungs, stop } = run;
      const work: ProcessContext = { ...ctx, signal: AbortSignal.any([ctx.signal, stop.signal]) };
      run.uploader = ctx.config.video.hlsEnabled
        ? new HlsSegmentUploader({
            hlsDir: hlsDirOf(ctx),
            upload: (request) => ctx.output(request),
            parallel: UPLOAD_PARALLELISM,
            signal: work.signal,
            onError: (error) => stop.abort(error),
          })
        : undefined;
      // With HLS the poster's frame comes from the ladder's own decode (a last branch of its split), encoded once ffmpeg exits.
      const top = rungs.at(-1)!;
      const ladderFrame = run.uploader ? ladderPosterFrame(ctx, source, top) : undefined;
      run.side = startSideSteps(work, source, top, run.uploader, (error) => stop.abort(error), ladderFrame);
      // Whatever fails from here on (this encode, a side step, an abort), nothing this step started outlives the job.
      const { side, uploader } = run;
      step.onFailure(async (error) => {
        stop.abort(error);
        await Promise.allSettled([side.poster, side.storyboard, uploader?.stop()]);
      });
      if (!uploader || !ladderFrame) {
        run.encoded = await encodeMp4Step(work, step, source, rungs);
        return;
      }
      try {
        run.encoded = await encodeHlsStep(work, step, source, rungs, uploader, ladderFrame);
      } catch (error) {
        ladderFrame.written.reject(error);
        throw error;
      }
    },
  },
  {
    name: "score",
    run: async (run, { ctx }) => {
      // QUALITY_SCORES (off by default): each rendition's SSIM/PSNR against the source, on its playlist or MP4 output.
      if (!ctx.config.quality.scores) return;
      run.quality = await scoreVideoOutputs(ctx, {
        demuxer: run.source.demuxer,
        source: run.source.encode,
        settings: encodeSettings(ctx.config),
        rungs: run.rungs,
        encoded: run.encoded,
      });
    },
  },
  {
    name: "poster",
    entry: "poster",
    span: [85, 90],
    run: async (run, step) => {
      // A failed side step is thrown here, in the order the timeline has always had; the encode step's cleanup stops the uploads.
      const settled = await Promise.allSettled([run.side.poster, run.side.storyboard]);
      const failed = settled.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
      run.poster = await run.side.poster;
      const poster = run.poster.value;
      step.record({
        source: poster.source,
        atSec: Math.round(poster.atSec * 1000) / 1000,
        size: `${poster.width}x${poster.height}`,
        ...stepTimes(run.poster),
      });
      step.report(1);
    },
  },
  {
    name: "storyboard",
    entry: "storyboard",
    span: [90, 92],
    run: async (run, step) => {
      run.storyboard = await run.side.storyboard;
      if (run.storyboard)
        step.record({
          tiles: run.storyboard.value.plan.count,
          intervalSec: run.storyboard.value.plan.intervalSec,
          ...stepTimes(run.storyboard),
        });
      step.report(1);
    },
  },
  {
    name: "upload",
    entry: "uploaded",
    span: [92, 100],
    run: async (run, step) => {
      run.outputs = withRenditionQuality(
        await uploadStep(step, run.encoded, run.poster.value, run.storyboard?.value),
        run.quality,
      );
    },
  },
];

async function processVideo(ctx: ProcessContext): Promise<ProcessResult> {
  // The steps fill in every other field before the result is read.
  const run = { stop: new AbortController() } as unknown as VideoRun;
  await runSteps(ctx, PLAN_STEPS, run);
  if (run.handedOff)
    return {
      outputs: [],
      metadata: { durationSec: run.source.durationSec, chunked: run.handedOff },
      handedOff: run.handedOff,
    };
  await runSteps(ctx, ENCODE_STEPS, run);
  // Segments are not listed one by one in the result; the tree's key prefix finds them all.
  const masterKey = run.outputs.find((output) => output.variant === "hls_master")?.key;
  const hlsKeyPrefix = masterKey?.slice(0, masterKey.length - "master.m3u8".length);
  return {
    outputs: run.outputs,
    metadata: describeResult(ctx, run.source, run.encoded, run.poster.value, hlsKeyPrefix),
  };
}

function hlsDirOf(ctx: ProcessContext): string {
  return path.join(ctx.workDir, "hls");
}

/** Runs `work` and notes when it started and ended. */
async function timed<T>(work: () => Promise<T>): Promise<Timed<T>> {
  const startedAt = Date.now();
  const value = await work();
  return { value, startedAt, endedAt: Date.now() };
}

/** The poster frame the ladder run writes, and when ffmpeg has written it (resolved when the file appears or at ffmpeg's successful exit, rejected when the encode fails first). */
interface LadderFrame {
  file: string;
  atSec: number;
  width: number;
  height: number;
  written: Deferred;
}

/** A promise settled from outside (Promise.withResolvers, which the compile target lacks). */
interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  return { promise, resolve, reject };
}

function ladderPosterFrame(ctx: ProcessContext, source: Source, top: PlannedRung): LadderFrame {
  return {
    file: path.join(ctx.workDir, "poster-frame.png"),
    atSec: posterPositionSec(source.durationSec, ctx.config.video.posterPositionPercent),
    width: top.width,
    height: top.height,
    written: deferred(),
  };
}

/**
 * Starts the storyboard beside the encode (it decodes the source, never the renditions), and the
 * poster: beside the encode too for the web MP4, or, with HLS, from the frame the ladder run
 * writes (no second decode: ~1.8 of the ~6 cpu-s a 30 s 1080p job spent around ffmpeg,
 * issue 20) as soon as ffmpeg has written that frame, falling back to the searching extractor when that frame
 * is dark or missing. With HLS their files go up through the segment uploader as soon as they
 * exist. A failure stops the job's other work through `fail` and is thrown where they are awaited.
 */
function startSideSteps(
  ctx: ProcessContext,
  source: Source,
  top: PlannedRung,
  uploader: HlsSegmentUploader | undefined,
  fail: (error: MediaError) => void,
  ladderFrame: LadderFrame | undefined,
): SideSteps {
  const watched = <T>(promise: Promise<T>): Promise<T> => {
    promise.catch((error: unknown) => fail(toMediaError(error)));
    return promise;
  };
  const made = ladderFrame
    ? ladderFrame.written.promise.then(() =>
        timed(async () => (await posterFromLadder(ctx, ladderFrame)) ?? posterStep(ctx, source, top)),
      )
    : timed(() => posterStep(ctx, source, top));
  const poster = watched(
    made.then((step) => {
      for (const request of posterRequests(step.value)) uploader?.add(request);
      return step;
    }),
  );
  const storyboard = watched(
    ctx.config.video.storyboard
      ? timed(() => storyboardStep(ctx, source)).then((step) => {
          for (const request of storyboardRequests(step.value)) uploader?.add(request);
          return step;
        })
      : Promise.resolve(undefined),
  );
  return { poster, storyboard };
}

/** `startedAt`/`endedAt` of a step, as ISO times (the timeline entry's own `at` is when it was recorded). */
function stepTimes(step: { startedAt: number; endedAt: number }): { startedAt: string; endedAt: string } {
  return { startedAt: new Date(step.startedAt).toISOString(), endedAt: new Date(step.endedAt).toISOString() };
}

async function probeStep(step: StepContext): Promise<Source> {
  const { ctx } = step;
  const probe = await probeSource(ctx);
  const video = probe.video;
  if (!video) {
    throw processingError(
      "no-video-stream",
      probe.attachedPictureCount > 0 ? "the file holds only a cover picture, no video" : "the file has no video stream",
    );
  }
  const demuxer = probe.format.demuxer;
  if (!demuxer)
    throw processingError("unsupported-container", `container ${probe.format.name} is not accepted for video`);
  assertDecodable(video, "Video", probe);
  if (probe.audio) assertDecodable(probe.audio, "Audio", probe);
  step.record({
    container: probe.format.name,
    durationSec: probe.durationSec,
    bitRate: probe.format.bitRate,
    video:
      `${video.codec} ${video.profile ?? ""} ${video.width}x${video.height} ${video.fps?.toFixed(3) ?? "?"}fps ${video.pixelFormat ?? ""}`
        .replace(/\s+/g, " ")
        .trim(),
    rotationDeg: video.rotationDeg,
    colour: describeColour(video),
    hdr: video.hdr ?? null,
    audio: probe.audio
      ? `${probe.audio.codec} ${probe.audio.channels ?? "?"}ch ${probe.audio.sampleRate ?? "?"}Hz`
      : null,
  });
  const durationSec = await durationStep(ctx, probe, video, demuxer);
  checkLimits(ctx.config.video, durationSec, video);
  // VIDEO_HDR_TONE_MAP=false encodes HDR frames as they are (the pre-tone-mapping behaviour).
  const toneMap = ctx.config.video.hdrToneMap ? toneMapSourceOf(video) : undefined;
  return {
    probe,
    video,
    demuxer,
    durationSec,
    encode: {
      videoStreamIndex: video.index,
      audioStreamIndex: probe.audio?.index,
      fps: video.fps,
      baseFps: video.baseFps,
      durationSec,
      toneMap,
    },
    toneMap,
  };
}

/** A bounded scan of the file measures its real length when the header's is unknown, a guess, or over the cap. */
const DURATION_SCAN_TIMEOUT_MS = 120_000;

/**
 * The duration the limits and the encode go by. A fragmented MP4 whose header says "unknown"
 * (all ones, which ffprobe turns into 143166 s) or a raw MPEG stream (whose length ffprobe
 * guesses from the bitrate) is measured instead; so is a file over VIDEO_MAX_DURATION, before
 * it is refused for a length it might not have.
 */
async function durationStep(
  ctx: ProcessContext,
  probe: MediaProbe,
  video: VideoStreamProbe,
  demuxer: string,
): Promise<number | undefined> {
  const reason = durationScanReason(probe, ctx.config.video.maxDurationSec);
  if (!reason) return probe.durationSec;
  const timeoutMs = Math.min(DURATION_SCAN_TIMEOUT_MS, ctx.config.jobs.processingTimeoutMs);
  const scanned = await scanDuration({
    inputPath: ctx.inputPath,
    demuxers: VIDEO_DEMUXERS,
    demuxer,
    streamIndex: video.index,
    fps: video.fps,
    signal: ctx.signal,
    timeoutMs,
  });
  ctx.step("duration-scanned", { reason, declaredSec: probe.durationSec ?? null, measuredSec: scanned ?? null });
  return scanned ?? probe.durationSec;
}

/** `bt2020/smpte2084/bt2020nc/tv 10-bit`, for the timeline; unknown parts as `?`. */
function describeColour(video: VideoStreamProbe): string {
  const tags = [video.colorPrimaries, video.colorTransfer, video.colorSpace, video.colorRange]
    .map((tag) => tag ?? "?")
    .join("/");
  return `${tags} ${video.bitDepth ?? "?"}-bit`;
}

/**
 * The pipeline's type refinement has usually probed this file already (npm run bench: ~0.13 s
 * per job for a second ffprobe of the same input). Its probe is reused when it settled on a
 * demuxer video accepts; otherwise (or when run without refinement) the file is probed with the
 * video demuxers only.
 */
async function probeSource(ctx: ProcessContext): Promise<MediaProbe> {
  const known = ctx.media.details?.["probe"] as MediaProbe | undefined;
  if (known?.format?.demuxer && known.streams && VIDEO_DEMUXERS.includes(known.format.demuxer)) return known;
  return probeMedia(ctx.inputPath, { signal: ctx.signal, demuxers: VIDEO_DEMUXERS });
}

/** Refuses, before any decoding, what would cost more than an operator allows. */
function checkLimits(limits: AppConfig["video"], durationSec: number | undefined, video: VideoStreamProbe): void {
  if (durationSec !== undefined && durationSec > limits.maxDurationSec) {
    throw processingError(
      "video-too-long",
      `the video lasts ${Math.round(durationSec)} s, over VIDEO_MAX_DURATION (${limits.maxDurationSec} s)`,
      undefined,
      { durationSec },
    );
  }
  if (video.width * video.height > limits.maxPixels) {
    throw processingError(
      "video-too-large",
      `the video is ${video.width}x${video.height}, over VIDEO_MAX_PIXELS (${limits.maxPixels})`,
      undefined,
      { width: video.width, height: video.height },
    );
  }
}

function planStep(step: StepContext, source: Source): PlannedRung[] {
  const { ctx } = step;
  const rungs = planLadder(
    { width: source.video.displayWidth, height: source.video.displayHeight, bitRate: source.probe.format.bitRate },
    ctx.config.video.rungs,
  );
  step.record({
    output: ctx.config.video.hlsEnabled ? "hls" : "mp4",
    rungs: rungs.map((rung) => `${rung.name} ${rung.width}x${rung.height} ${rung.videoKbps}k+${rung.audioKbps}k`),
  });
  return ctx.config.video.hlsEnabled ? rungs : [rungs.at(-1)!];
}

function encodeSettings(config: AppConfig) {
  const video = config.video;
  return {
    x264Preset: video.x264Preset,
    maxFps: video.maxFps,
    segmentSeconds: video.segmentSeconds,
    keyframeSeconds: video.keyframeSeconds,
    addSilentAudio: video.addSilentAudio,
    segmentFormat: video.segmentFormat,
  };
}

/**
 * The ladder, with its segments going up while ffmpeg writes: the uploader watches the folder
 * from before ffmpeg starts. After a successful exit each rendition is measured (while the last
 * segments upload), the I-frame playlists and the master are written; playlists are uploaded
 * later, by uploadStep, once every segment is stored.
 */
/** `ctx` is the step's context with the signal shared with the side steps. */
async function encodeHlsStep(
  ctx: ProcessContext,
  step: StepContext,
  source: Source,
  rungs: PlannedRung[],
  uploader: HlsSegmentUploader,
  posterFrame: LadderFrame,
): Promise<Encoded> {
  const dir = hlsDirOf(ctx);
  await mkdir(dir, { recursive: true });
  const video = ctx.config.video;
  const audioOnlyKbps = video.audioOnlyRendition && source.probe.audio ? rungs.at(-1)!.audioKbps : undefined;
  const startedAt = Date.now();
  uploader.start();
  // The poster frame appears under its name complete (-atomic_writing); its poster is made while the encode goes on.
  const frameWatch = setInterval(
    () =>
      void stat(posterFrame.file).then(
        () => {
          clearInterval(frameWatch);
          posterFrame.written.resolve();
        },
        () => undefined,
      ),
    250,
  );
  frameWatch.unref();
  const run = await runFfmpeg({
    args: hlsLadderArgs({
      inputPath: ctx.inputPath,
      demuxer: source.demuxer,
      source: source.encode,
      rungs,
      settings: encodeSettings(ctx.config),
      audioOnlyKbps,
      outDir: dir,
      posterFrame: {
        outFile: posterFrame.file,
        atSec: posterFrame.atSec,
        width: posterFrame.width,
        height: posterFrame.height,
      },
    }),
    durationSec: source.durationSec,
    signal: ctx.signal,
    onProgress: (progress) => progress.percent !== undefined && step.report(progress.percent / 100),
  }).finally(() => clearInterval(frameWatch));
  const endedAt = Date.now();
  uploader.encodeEnded();
  posterFrame.written.resolve();
  const renditions = await Promise.all(
    knownRenditions(ctx.config, source, rungs, audioOnlyKbps).map(({ name, known }) =>
      measureRendition(dir, name, {
        segmentSeconds: video.segmentSeconds,
        signal: ctx.signal,
        expectVideo: known.video !== undefined,
        scratchDir: ctx.workDir,
        encodedFrames: run.lastProgress?.frame,
        known,
      }),
    ),
  );
  const version = Math.max(3, ...renditions.map((rendition) => rendition.playlistVersion));
  const iFrameStreams = video.iFramePlaylists
    ? (
        await Promise.all(renditions.map((rendition) => writeIFramePlaylist(dir, rendition, video.keyframeSeconds)))
      ).filter((stream) => stream !== undefined)
    : [];
  await writeFile(
    path.join(dir, "master.m3u8"),
    buildMasterPlaylist(
      renditions.map((rendition) => rendition.variant),
      version,
      iFrameStreams,
    ),
  );
  step.record({
    output: "hls",
    toneMapped: source.toneMap !== undefined,
    elapsedMs: run.elapsedMs,
    realtimeFactor: realtimeFactor(source.durationSec, run.elapsedMs),
    renditions: renditions.map(
      (rendition) =>
        `${rendition.name} ${rendition.segmentCount} segments ${Math.round(rendition.variant.averageBandwidth / 1000)}k`,
    ),
    ...stepTimes({ startedAt, endedAt }),
  });
  return {
    kind: "hls",
    dir,
    renditions,
    iFramePlaylists: iFrameStreams.map((stream) => stream.uri),
    elapsedMs: run.elapsedMs,
    uploader,
  };
}

/** Each rendition's name and what the command fixes about it: its size, its audio, the frame-rate grid (see KnownRendition). */
function knownRenditions(
  config: AppConfig,
  source: Source,
  rungs: readonly PlannedRung[],
  audioOnlyKbps: number | undefined,
): Array<{ name: string; known: KnownRendition }> {
  const withAudio = source.encode.audioStreamIndex !== undefined || config.video.addSilentAudio;
  const gridFps = expectedOutputFps(source.encode, config.video.maxFps);
  return [
    ...rungs.map((rung) => ({
      name: rung.name,
      known: { video: { width: rung.width, height: rung.height, gridFps }, audio: withAudio },
    })),
    ...(audioOnlyKbps !== undefined ? [{ name: AUDIO_ONLY_NAME, known: { video: undefined, audio: true } }] : []),
  ];
}

async function encodeMp4Step(
  ctx: ProcessContext,
  step: StepContext,
  source: Source,
  rungs: PlannedRung[],
): Promise<Encoded> {
  const rung = rungs.at(-1)!;
  const file = path.join(ctx.workDir, "web.mp4");
  const startedAt = Date.now();
  const run = await runFfmpeg({
    args: webMp4Args({
      inputPath: ctx.inputPath,
      demuxer: source.demuxer,
      source: source.encode,
      rung,
      settings: encodeSettings(ctx.config),
      outFile: file,
    }),
    durationSec: source.durationSec,
    signal: ctx.signal,
    onProgress: (progress) => progress.percent !== undefined && step.report(progress.percent / 100),
  });
  const endedAt = Date.now();
  // Judge the run by its file: it must hold a decodable video stream.
  const written = await probeMedia(file, { demuxers: ["mov"], signal: ctx.signal });
  if (!written.video) throw processingError("mp4-no-video", "the web MP4 has no video stream");
  step.record({
    output: "mp4",
    toneMapped: source.toneMap !== undefined,
    elapsedMs: run.elapsedMs,
    realtimeFactor: realtimeFactor(source.durationSec, run.elapsedMs),
    size: `${rung.width}x${rung.height}`,
    ...stepTimes({ startedAt, endedAt }),
  });
  return { kind: "mp4", file, rung, durationSec: written.durationSec, elapsedMs: run.elapsedMs };
}

/** Seconds of video encoded per second of wall time. */
function realtimeFactor(durationSec: number | undefined, elapsedMs: number): number | undefined {
  if (!durationSec || elapsedMs <= 0) return undefined;
  return Math.round((durationSec / (elapsedMs / 1000)) * 100) / 100;
}

function posterFromLadder(ctx: ProcessContext, frame: LadderFrame): Promise<PosterFiles | undefined> {
  return posterFromFrame(
    frame.file,
    {
      width: frame.width,
      height: frame.height,
      workDir: ctx.workDir,
      jpegQuality: ctx.config.image.jpegQuality,
      webpQuality: ctx.config.image.webpQuality,
    },
    frame.atSec,
  );
}

async function posterStep(ctx: ProcessContext, source: Source, top: PlannedRung): Promise<PosterFiles> {
  const poster = await extractPoster({
    inputPath: ctx.inputPath,
    demuxer: source.demuxer,
    videoStreamIndex: source.video.index,
    durationSec: source.durationSec,
    positionPercent: ctx.config.video.posterPositionPercent,
    width: top.width,
    height: top.height,
    workDir: ctx.workDir,
    jpegQuality: ctx.config.image.jpegQuality,
    webpQuality: ctx.config.image.webpQuality,
    toneMap: source.toneMap,
    bitDepth: source.video.bitDepth,
    signal: ctx.signal,
  });
  return poster;
}

async function storyboardStep(ctx: ProcessContext, source: Source) {
  const storyboard = await makeStoryboard({
    inputPath: ctx.inputPath,
    demuxer: source.demuxer,
    videoStreamIndex: source.video.index,
    durationSec: source.durationSec ?? 1,
    displayWidth: source.video.displayWidth,
    displayHeight: source.video.displayHeight,
    workDir: ctx.workDir,
    toneMap: source.toneMap,
    signal: ctx.signal,
  });
  return storyboard;
}

/**
 * Everything goes up through ctx.output. The job result lists playlists, posters and files a
 * client opens; the (possibly hundreds of) segments are uploaded but only counted. With HLS the
 * segments, init files, poster and storyboard are already stored or in flight (the segment
 * uploader); the media playlists, I-frame playlists and the master go up once all of them are.
 */
async function uploadStep(
  step: StepContext,
  encoded: Encoded,
  poster: PosterFiles,
  storyboard: Storyboard | undefined,
): Promise<OutputFile[]> {
  const { ctx } = step;
  const early = encoded.kind === "hls" ? await encoded.uploader.finish() : [];
  const requests: OutputRequest[] = [];
  if (encoded.kind === "hls") {
    requests.push(...(await hlsOutputRequests(encoded.dir)).filter((request) => !encoded.uploader.has(request.name)));
  } else {
    requests.push({
      name: "web.mp4",
      variant: "web_mp4",
      body: { file: encoded.file },
      contentType: "video/mp4",
      cacheControl: IMMUTABLE_CACHE_CONTROL,
      width: encoded.rung.width,
      height: encoded.rung.height,
      durationSec: encoded.durationSec,
    });
    requests.push(...posterRequests(poster), ...(storyboard ? storyboardRequests(storyboard) : []));
  }
  const total = early.length + requests.length;
  step.report(early.length / total);
  const late = await uploadAll(requests, (request) => ctx.output(request), {
    parallel: UPLOAD_PARALLELISM,
    signal: ctx.signal,
    onUploaded: (done) => step.report((early.length + done) / total),
  });
  const uploaded = [...early, ...late];
  const segments = uploaded.filter((output) => output.variant === "hls_segment" || output.variant === "hls_init");
  const firstStartedAt = encoded.kind === "hls" ? encoded.uploader.firstStartedAt : undefined;
  step.record({
    files: uploaded.length,
    bytes: uploaded.reduce((sum, output) => sum + output.bytes, 0),
    segments: segments.length,
    ...(encoded.kind === "hls"
      ? {
          duringEncode: encoded.uploader.storedBeforeExit,
          startedAt: new Date(firstStartedAt ?? Date.now()).toISOString(),
        }
      : {}),
  });
  return withRenditionFacts(
    inResultOrder(uploaded.filter((output) => output.variant !== "hls_segment" && output.variant !== "hls_init")),
    encoded,
  );
}

/** Playlists (by key), the master, the web MP4, then poster and storyboard files: the order the result has always listed them in. */
const RESULT_ORDER = [
  "hls_playlist",
  "hls_master",
  "web_mp4",
  "poster",
  "poster_webp",
  "storyboard_sprite",
  "storyboard_vtt",
];
function inResultOrder(outputs: OutputFile[]): OutputFile[] {
  const rank = (output: OutputFile) =>
    RESULT_ORDER.includes(output.variant) ? RESULT_ORDER.indexOf(output.variant) : RESULT_ORDER.length;
  return [...outputs].sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

function posterRequests(poster: PosterFiles): OutputRequest[] {
  const size = { width: poster.width, height: poster.height };
  return [
    {
      name: "poster.jpg",
      variant: "poster",
      body: { file: poster.jpeg },
      contentType: "image/jpeg",
      cacheControl: IMMUTABLE_CACHE_CONTROL,
      ...size,
    },
    {
      name: "poster.webp",
      variant: "poster_webp",
      body: { file: poster.webp },
      contentType: "image/webp",
      cacheControl: IMMUTABLE_CACHE_CONTROL,
      ...size,
    },
  ];
}

function storyboardRequests(storyboard: Storyboard): OutputRequest[] {
  return [
    {
      name: "storyboard/sprite.jpg",
      variant: "storyboard_sprite",
      body: { file: storyboard.sprite },
      contentType: "image/jpeg",
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    },
    {
      name: "storyboard/storyboard.vtt",
      variant: "storyboard_vtt",
      body: { file: storyboard.vtt },
      contentType: "text/vtt",
      cacheControl: IMMUTABLE_CACHE_CONTROL,
    },
  ];
}

/** Adds width/height/duration to each rung's playlist entry in the result. */
function withRenditionFacts(outputs: OutputFile[], encoded: Encoded): OutputFile[] {
  if (encoded.kind !== "hls") return outputs;
  return outputs.map((output) => {
    const rendition = encoded.renditions.find((candidate) => output.key.endsWith(`/hls/${candidate.variant.uri}`));
    if (!rendition) return output;
    return {
      ...output,
      durationSec: Math.round(rendition.durationSec * 1000) / 1000,
      ...(rendition.variant.resolution
        ? { width: rendition.variant.resolution.width, height: rendition.variant.resolution.height }
        : {}),
    };
  });
}

function describeResult(
  ctx: ProcessContext,
  source: Source,
  encoded: Encoded,
  poster: PosterFiles,
  hlsKeyPrefix: string | undefined,
): Record<string, unknown> {
  const { probe, video } = source;
  return {
    container: probe.format.name,
    durationSec: source.durationSec,
    bitRate: probe.format.bitRate,
    video: {
      codec: video.codec,
      profile: video.profile,
      width: video.width,
      height: video.height,
      displayWidth: video.displayWidth,
      displayHeight: video.displayHeight,
      rotationDeg: video.rotationDeg,
      fps: video.fps,
      frameRate: video.frameRate,
      pixelFormat: video.pixelFormat,
      bitDepth: video.bitDepth,
      colorPrimaries: video.colorPrimaries,
      colorTransfer: video.colorTransfer,
      colorSpace: video.colorSpace,
      colorRange: video.colorRange,
      /** `pq` / `hlg` for HDR sources, null for SDR. */
      hdr: video.hdr ?? null,
      bitRate: video.bitRate,
      frameCount: video.frameCount,
    },
    /** True when the HDR source was converted to SDR BT.709 for every output; false for SDR sources and with VIDEO_HDR_TONE_MAP=false. */
    toneMapped: source.toneMap !== undefined,
    hasAudio: probe.audio !== undefined,
    audio: probe.audio
      ? {
          codec: probe.audio.codec,
          profile: probe.audio.profile,
          channels: probe.audio.channels,
          channelLayout: probe.audio.channelLayout,
          sampleRate: probe.audio.sampleRate,
          bitRate: probe.audio.bitRate,
        }
      : null,
    encode: {
      output: encoded.kind,
      preset: ctx.config.video.x264Preset,
      elapsedMs: encoded.elapsedMs,
      realtimeFactor: realtimeFactor(source.durationSec, encoded.elapsedMs),
    },
    ...(encoded.kind === "hls"
      ? {
          hls: {
            /** Every playlist and segment of the tree lives under this key prefix. */
            keyPrefix: hlsKeyPrefix,
            segmentSeconds: ctx.config.video.segmentSeconds,
            keyframeSeconds: ctx.config.video.keyframeSeconds,
            /** EXT-X-I-FRAME-STREAM-INF playlists (TS segments only), relative to the master. */
            iFramePlaylists: encoded.iFramePlaylists,
            segmentFormat: ctx.config.video.segmentFormat,
            renditions: encoded.renditions.map((rendition) => ({
              name: rendition.name,
              ...(rendition.variant.resolution ?? {}),
              bandwidth: rendition.variant.bandwidth,
              averageBandwidth: rendition.variant.averageBandwidth,
              codecs: rendition.variant.codecs.join(","),
              frameRate:
                rendition.variant.frameRate === undefined
                  ? undefined
                  : Math.round(rendition.variant.frameRate * 1000) / 1000,
              segments: rendition.segmentCount,
              bytes: rendition.bytes,
              durationSec: Math.round(rendition.durationSec * 1000) / 1000,
            })),
          },
        }
      : {}),
    poster: {
      source: poster.source,
      atSec: Math.round(poster.atSec * 1000) / 1000,
      width: poster.width,
      height: poster.height,
    },
  };
}
