import { createWriteStream } from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AppConfig } from "../config/config.ts";
import { type MediaError, processingError, throwIfAborted, toMediaError } from "../errors.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import { AUDIO_DEMUXERS, demuxerForProbedFormat } from "../media/ffmpeg.runner.ts";
import { durationScanReason, scanDuration } from "../media/duration-scan.ts";
import { assertDecodable, probeMedia, type MediaProbe } from "../media/ffprobe.ts";
import { hasAudioFormat, readAudioMetadata, type AudioMetadata } from "./audio/audio-metadata.ts";
import { renderCover, type CoverImage } from "./audio/cover-art.ts";
import { planTranscodes, type PcmFormat, type SourceAudio, type TranscodeTarget } from "./audio/transcode-plan.ts";
import { runTranscode, type TranscodeOutcome } from "./audio/transcode-run.ts";
import { decodeWaveform } from "./audio/waveform-decode.ts";
import { resolveSamplesPerPixel, type WaveformData } from "./audio/waveform-data.ts";
import { encodeWaveformDat, waveformJsonChunks } from "./audio/waveform-formats.ts";
import { autoAmplitudeScale, peakDbfs, renderWaveformPng, waveformPeak } from "./audio/waveform-image.ts";
import type { OutputFile, ProcessContext, ProcessResult, Processor } from "./processor.ts";
import { runSteps, type Step, type StepContext } from "./step-runner.ts";

/**
 * Audio: (probe ∥ tags) → cover art → (transcodes ∥ waveform decode) → waveform files → outputs.
 * The transcodes run as parallel ffmpeg processes (ffmpeg 5.1 encodes the outputs of one run one
 * after another; three processes finish ~1.8× sooner) and the waveform decode is a fourth,
 * folding PCM from its stdout into min/max pairs as it arrives. Nothing waits for what it does
 * not need (issue 20): the tag read runs beside the probe, the cover is rendered beside the
 * encodes, each transcode is stored the moment its ffmpeg has exited and the waveform files the
 * moment the decode has, while the other encodes still run.
 */
export function createAudioProcessor(config: AppConfig): Processor {
  return {
    name: "audio",
    accepts: (media: DetectedMedia) => media.kind === "audio",
    process: (ctx) => processAudio(ctx, config),
  };
}

type AudioConfig = AppConfig["audio"];

/** What the steps learn and make, filled in as they run. */
interface AudioRun {
  config: AppConfig;
  probe: MediaProbe;
  demuxer: string;
  metadata: AudioMetadata;
  declaredDurationSec: number | undefined;
  /** Rendered beside the encodes; never rejects (a broken cover is skipped). */
  cover: Promise<CoverImage | undefined>;
  source: SourceAudio;
  targets: TranscodeTarget[];
  pcm: PcmFormat;
  samplesPerPixel: number;
  transcodes: TranscodeOutcome[];
  waveform: WaveformData;
  decodedDurationSec: number;
  /** What the encode step stored as it went: the transcodes in plan order, then the waveform files. */
  stored: OutputFile[];
  outputs: OutputFile[];
}

/** The audio steps, run in this order by the step runner (which checks the abort signal between them). */
const AUDIO_STEPS: readonly Step<AudioRun>[] = [
  {
    name: "probe",
    entry: "probed",
    run: async (run, { ctx, record }) => {
      // The tag read needs nothing from the probe, so it runs beside it; both settle before a failure leaves.
      const [probe, metadata] = await Promise.allSettled([probeAudio(ctx), readMetadata(ctx)]);
      if (probe.status === "rejected") throw probe.reason;
      run.probe = probe.value;
      run.metadata = (metadata as PromiseFulfilledResult<AudioMetadata>).value;
      const demuxer = demuxerForProbedFormat(run.probe.format.name, AUDIO_DEMUXERS);
      if (!demuxer)
        throw processingError("format-refused", `${run.probe.format.name} is not an audio container we read`);
      run.demuxer = demuxer;
      const stream = run.probe.audio!;
      run.declaredDurationSec = await audioDurationSec(ctx, run.probe, run.metadata, demuxer);
      record({
        container: run.probe.format.name,
        codec: stream.codec,
        durationSec: run.declaredDurationSec,
        sampleRate: stream.sampleRate,
        channels: stream.channels,
      });
      const { maxDurationSec } = run.config.audio;
      if (run.declaredDurationSec !== undefined && run.declaredDurationSec > maxDurationSec) {
        throw processingError(
          "audio-too-long",
          `the audio lasts ${Math.round(run.declaredDurationSec)} s, over AUDIO_MAX_DURATION (${maxDurationSec} s)`,
        );
      }
    },
  },
  {
    name: "cover",
    run: (run, { ctx, onFailure }) => {
      // Rendered beside the encodes and awaited by the store step; extractCover never rejects.
      run.cover = extractCover(ctx, run.metadata, run.config);
      onFailure(() => run.cover);
    },
  },
  {
    name: "plan",
    entry: "planned",
    run: (run) => {
      const audio = run.config.audio;
      const stream = run.probe.audio!;
      run.source = sourceAudio(run.probe, run.metadata);
      run.targets = planTranscodes(run.source, audio);
      run.pcm = { sampleRate: stream.sampleRate ?? 44100, channels: stream.channels ?? 2 };
      run.samplesPerPixel = resolveSamplesPerPixel(run.pcm.sampleRate, audio.waveform);
      return {
        transcodes: run.targets.map(
          (target) =>
            `${target.format}:${target.encoder}@${target.bitrateKbps}k/${target.sampleRate}Hz/${target.channels}ch`,
        ),
        samplesPerPixel: run.samplesPerPixel,
      };
    },
  },
  {
    name: "encode",
    entry: "encoded",
    run: async (run, step) => {
      const { transcodes, waveform, frames, stored } = await encodeAll(step, {
        demuxer: run.demuxer,
        targets: run.targets,
        pcm: run.pcm,
        samplesPerPixel: run.samplesPerPixel,
        declaredDurationSec: run.declaredDurationSec,
        audio: run.config.audio,
      });
      run.transcodes = transcodes;
      run.waveform = waveform;
      run.decodedDurationSec = frames / run.pcm.sampleRate;
      run.stored = stored;
      return {
        transcodes: transcodes.length,
        decodedDurationSec: run.decodedDurationSec,
        waveformPoints: waveform.length,
      };
    },
  },
  {
    name: "store",
    run: async (run, { ctx, progress }) => {
      // The transcodes and waveform files were stored during the encode step; the cover is the last.
      run.outputs.push(...run.stored);
      const cover = await run.cover;
      if (cover) {
        run.outputs.push(
          await ctx.output({
            name: "cover.jpg",
            variant: "cover",
            body: { buffer: cover.jpeg },
            contentType: "image/jpeg",
            width: cover.width,
            height: cover.height,
          }),
        );
      }
      progress(100, "stored");
    },
  },
];

async function processAudio(ctx: ProcessContext, config: AppConfig): Promise<ProcessResult> {
  // The steps fill in every other field before the result is read.
  const run = { config, outputs: [] } as unknown as AudioRun;
  await runSteps(ctx, AUDIO_STEPS, run);
  return {
    outputs: run.outputs,
    metadata: describeAudio({ ...run, cover: await run.cover, bits: config.audio.waveform.bits }),
  };
}

/**
 * The length the cap is checked against: the header's, unless it is unknown or over
 * AUDIO_MAX_DURATION; then a bounded scan of the packets measures it, so a short file with a
 * lying header is not refused (the decode later gives the exact length either way).
 */
async function audioDurationSec(
  ctx: ProcessContext,
  probe: MediaProbe,
  metadata: AudioMetadata,
  demuxer: string,
): Promise<number | undefined> {
  const declared = probe.durationSec ?? metadata.info.durationSec;
  const reason = durationScanReason({ ...probe, durationSec: declared }, ctx.config.audio.maxDurationSec);
  if (reason !== "unknown" && reason !== "over-limit") return declared;
  const timeoutMs = Math.min(120_000, ctx.config.jobs.processingTimeoutMs);
  const scanned = await scanDuration({
    inputPath: ctx.inputPath,
    demuxers: AUDIO_DEMUXERS,
    demuxer,
    streamIndex: probe.audio!.index,
    fps: undefined,
    signal: ctx.signal,
    timeoutMs,
  });
  ctx.step("duration-scanned", { reason, declaredSec: declared ?? null, measuredSec: scanned ?? null });
  return scanned ?? declared;
}

interface AudioFacts {
  probe: MediaProbe;
  metadata: AudioMetadata;
  source: SourceAudio;
  transcodes: TranscodeOutcome[];
  waveform: WaveformData;
  samplesPerPixel: number;
  decodedDurationSec: number;
  declaredDurationSec: number | undefined;
  cover: CoverImage | undefined;
  bits: 8 | 16;
}

/** The job result's metadata: music-metadata's names where it has them, ffprobe's otherwise. */
function describeAudio(facts: AudioFacts): Record<string, unknown> {
  const { probe, metadata, transcodes, waveform, cover } = facts;
  const stream = probe.audio!;
  return {
    // The decoded length is the truth; a header can claim far more than the file holds.
    durationSec: round(facts.decodedDurationSec, 3),
    declaredDurationSec: facts.declaredDurationSec === undefined ? undefined : round(facts.declaredDurationSec, 3),
    codec: metadata.info.codec ?? stream.codec,
    codecId: stream.codec,
    container: metadata.info.container ?? probe.format.name,
    bitrateKbps: metadata.info.bitrateKbps ?? kbps(stream.bitRate ?? probe.format.bitRate),
    sampleRate: stream.sampleRate ?? metadata.info.sampleRate,
    channels: stream.channels ?? metadata.info.channels,
    lossless: facts.source.lossless,
    tags: metadata.info.tags,
    transcodes: transcodes.map(({ target, durationSec, bytes }) => ({
      format: target.format,
      codec: target.codecName,
      copied: target.encoder === "copy",
      bitrateKbps: target.bitrateKbps,
      sampleRate: target.sampleRate,
      channels: target.channels,
      durationSec: round(durationSec, 3),
      bytes,
    })),
    // The peak of the samples the waveform was made from (the mono mix unless split), and the
    // factor the PNG was scaled by to reach it; the .json/.dat values are unscaled.
    peakLevelDbfs: peakDbfs(waveformPeak(waveform)) ?? null,
    waveform: {
      samplesPerPixel: facts.samplesPerPixel,
      bits: facts.bits,
      channels: waveform.channels,
      length: waveform.length,
      sampleRate: waveform.sampleRate,
      peak: waveformPeak(waveform),
      imageAmplitudeScale: Math.round(autoAmplitudeScale(waveform) * 100) / 100,
    },
    cover: cover ? { width: cover.width, height: cover.height } : undefined,
  };
}

/** The pipeline's type refinement may already have probed; otherwise probe with the audio demuxers only. */
async function probeAudio(ctx: ProcessContext): Promise<MediaProbe> {
  const known = ctx.media.details?.["probe"] as MediaProbe | undefined;
  const probe =
    known?.format && known.streams
      ? known
      : await probeMedia(ctx.inputPath, { signal: ctx.signal, demuxers: AUDIO_DEMUXERS });
  if (!probe.audio) throw processingError("no-audio-stream", "the file has no audio stream");
  assertDecodable(probe.audio, "Audio", probe);
  return probe;
}

/** Tags are worth having but not worth failing a playable file for: an unreadable tag block is noted and skipped. */
async function readMetadata(ctx: ProcessContext): Promise<AudioMetadata> {
  try {
    const metadata = await readAudioMetadata(ctx.inputPath);
    if (!hasAudioFormat(metadata.info))
      ctx.step("metadata-empty", { reason: "music-metadata does not know this format; ffprobe's facts are used" });
    return metadata;
  } catch (error) {
    ctx.step("metadata-skipped", { reason: error instanceof Error ? error.message : String(error) });
    return {
      info: {
        durationSec: undefined,
        codec: undefined,
        container: undefined,
        bitrateKbps: undefined,
        sampleRate: undefined,
        channels: undefined,
        lossless: false,
        tags: {},
      },
      cover: undefined,
    };
  }
}

/** A broken or oversized embedded picture loses the cover, not the job. */
async function extractCover(
  ctx: ProcessContext,
  metadata: AudioMetadata,
  config: AppConfig,
): Promise<CoverImage | undefined> {
  if (!metadata.cover) return undefined;
  try {
    const cover = await renderCover(metadata.cover.data, {
      maxDimension: config.audio.coverMaxDimension,
      maxPixels: config.image.maxPixels,
      jpegQuality: config.image.jpegQuality,
    });
    ctx.step("cover", { format: metadata.cover.format, width: cover.width, height: cover.height });
    return cover;
  } catch (error) {
    ctx.step("cover-skipped", { reason: error instanceof Error ? error.message : String(error) });
    return undefined;
  }
}

const LOSSLESS_CODECS = /^(pcm_|flac$|alac$|wavpack$|ape$|tta$|mlp$|truehd$)/;

/**
 * The source facts the plan decides on. WebM and Matroska state no per-stream bitrate; then the
 * container's overall rate stands in for it when the file holds nothing else (cover art would
 * inflate it, which only makes the cap looser, never a transcode larger than configured).
 */
function sourceAudio(probe: MediaProbe, metadata: AudioMetadata): SourceAudio {
  const stream = probe.audio!;
  const containerKbps = probe.streams.length === 1 ? kbps(probe.format.bitRate) : undefined;
  return {
    codec: stream.codec,
    bitrateKbps: kbps(stream.bitRate) ?? metadata.info.bitrateKbps ?? containerKbps,
    sampleRate: stream.sampleRate,
    channels: stream.channels,
    lossless: metadata.info.lossless || LOSSLESS_CODECS.test(stream.codec),
  };
}

interface EncodePlan {
  demuxer: string;
  targets: TranscodeTarget[];
  pcm: PcmFormat;
  samplesPerPixel: number;
  declaredDurationSec: number | undefined;
  audio: AudioConfig;
}

/**
 * Runs the transcodes and the waveform decode at once, and stores each output as soon as it
 * exists: a transcode when its ffmpeg has exited and its file is checked, the waveform files
 * when the decode has ended, while the other runs go on. The first failure (of a run or of an
 * upload) stops the others (their processes are killed through a shared signal) and every run
 * and upload has settled before this returns or throws, so no ffmpeg outlives the job's temp dir
 * and the pipeline knows every key it may have to remove.
 */
async function encodeAll(
  step: StepContext,
  plan: EncodePlan,
): Promise<{ transcodes: TranscodeOutcome[]; waveform: WaveformData; frames: number; stored: OutputFile[] }> {
  const { ctx } = step;
  const siblings = new AbortController();
  const signal = AbortSignal.any([ctx.signal, siblings.signal]);
  const percents = new Array<number>(plan.targets.length + 1).fill(0);
  // The runner drops a value that is not above the last, so runs finishing out of step never move it back.
  const report = (slot: number, percent: number) => {
    percents[slot] = Math.min(100, percent);
    step.progress(Math.floor((percents.reduce((sum, value) => sum + value, 0) / percents.length) * 0.9), "encode");
  };
  const expectedFrames =
    plan.declaredDurationSec !== undefined ? plan.declaredDurationSec * plan.pcm.sampleRate : undefined;
  const stopSiblings = (error: unknown) => {
    siblings.abort(toMediaError(error));
    throw error;
  };
  const stored = new Map<string, OutputFile[]>();
  const runs = [
    decodeWaveform({
      inputPath: ctx.inputPath,
      demuxer: plan.demuxer,
      pcm: plan.pcm,
      samplesPerPixel: plan.samplesPerPixel,
      splitChannels: plan.audio.waveform.splitChannels,
      maxDurationSec: plan.audio.maxDurationSec,
      signal,
      onFrames: (frames) => expectedFrames && report(0, (frames / expectedFrames) * 100),
    })
      .then(async (decoded) => {
        if (decoded.frames === 0)
          throw processingError("no-audio-decoded", "ffmpeg decoded no audio samples from the file");
        const durationSec = decoded.frames / plan.pcm.sampleRate;
        stored.set("waveform", await storeWaveform(ctx, decoded.data, plan.audio.waveform, durationSec, signal));
        return decoded;
      })
      .catch(stopSiblings),
    ...plan.targets.map((target, index) =>
      runTranscode({
        inputPath: ctx.inputPath,
        demuxer: plan.demuxer,
        target,
        outputPath: path.join(ctx.workDir, `audio-${target.name}`),
        durationSec: plan.declaredDurationSec,
        maxDurationSec: plan.audio.maxDurationSec,
        signal,
        onPercent: (percent) => report(index + 1, percent),
      })
        .then(async (outcome) => {
          throwIfAborted(signal);
          stored.set(target.name, [await storeTranscode(ctx, outcome)]);
          return outcome;
        })
        .catch(stopSiblings),
    ),
  ];
  const settled = await Promise.allSettled(runs);
  const failure = firstFailure(settled, ctx.signal);
  if (failure) throw failure;
  const [decoded, ...transcodes] = settled.map((result) => (result as PromiseFulfilledResult<unknown>).value);
  const { data, frames } = decoded as Awaited<ReturnType<typeof decodeWaveform>>;
  return {
    transcodes: transcodes as TranscodeOutcome[],
    waveform: data,
    frames,
    // The order the result has always listed them in: transcodes in plan order, then JSON, DAT, PNG.
    stored: [...plan.targets.map((target) => target.name), "waveform"].flatMap((name) => stored.get(name) ?? []),
  };
}

function storeTranscode(ctx: ProcessContext, outcome: TranscodeOutcome): Promise<OutputFile> {
  const { target } = outcome;
  return ctx.output({
    name: target.name,
    variant: target.variant,
    body: { file: outcome.outputPath },
    contentType: target.contentType,
    durationSec: outcome.durationSec,
  });
}

/** The job's own abort wins; otherwise the error that stopped the others, not their echoes of it. */
function firstFailure(settled: PromiseSettledResult<unknown>[], jobSignal: AbortSignal): MediaError | undefined {
  if (jobSignal.aborted) {
    throwIfAborted(jobSignal);
  }
  const rejected = settled
    .filter((result): result is PromiseRejectedResult => result.status === "rejected")
    .map((result) => toMediaError(result.reason));
  return rejected[0];
}

/** The three waveform files, made and stored side by side. */
async function storeWaveform(
  ctx: ProcessContext,
  data: WaveformData,
  settings: AudioConfig["waveform"],
  durationSec: number,
  signal: AbortSignal,
): Promise<OutputFile[]> {
  const jsonPath = path.join(ctx.workDir, "waveform.json");
  const stored = await Promise.allSettled([
    pipeline(Readable.from(waveformJsonChunks(data, settings.bits)), createWriteStream(jsonPath)).then(() => {
      throwIfAborted(signal);
      return ctx.output({
        name: "waveform.json",
        variant: "waveform_json",
        body: { file: jsonPath },
        contentType: "application/json",
        durationSec,
      });
    }),
    Promise.resolve().then(() => {
      throwIfAborted(signal);
      return ctx.output({
        name: "waveform.dat",
        variant: "waveform_dat",
        body: { buffer: encodeWaveformDat(data, settings.bits) },
        contentType: "application/octet-stream",
        durationSec,
      });
    }),
    renderWaveformPng(data, {
      width: settings.imageWidth,
      height: settings.imageHeight,
      color: settings.color,
      backgroundColor: settings.backgroundColor,
      amplitudeScale: autoAmplitudeScale(data),
    }).then((png) => {
      throwIfAborted(signal);
      return ctx.output({
        name: "waveform.png",
        variant: "waveform_png",
        body: { buffer: png },
        contentType: "image/png",
        width: settings.imageWidth,
        height: settings.imageHeight,
      });
    }),
  ]);
  const failed = stored.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  return stored.map((result) => (result as PromiseFulfilledResult<OutputFile>).value);
}

const kbps = (bitsPerSecond: number | undefined) =>
  bitsPerSecond !== undefined && bitsPerSecond > 0 ? Math.round(bitsPerSecond / 1000) : undefined;
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
