import path from "node:path";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { AUDIO_DEMUXERS, demuxerForProbedFormat } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { planTranscodes } from "../../src/processors/audio/transcode-plan.ts";
import { resolveSamplesPerPixel } from "../../src/processors/audio/waveform-data.ts";
import { alternate, measuredPipelineRun, round, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { audioTracks } from "../lib/inputs.ts";
import { runRawProcess } from "../lib/raw-process.ts";
import type { AreaReport } from "../lib/report.ts";
import { median, ratio, realtimeFactor } from "../lib/stats.ts";
import { describeStepCosts, splitJobTime, stepCosts } from "../lib/timeline.ts";
import { differingOutputs, sameOutputsNote } from "../lib/same-outputs.ts";
import type { AudioRawJob, AudioRawRequest } from "../raw/audio-raw.ts";

const LOSSLESS = /^(pcm_|flac$|alac$|wavpack$)/;

/**
 * Audio: a few minutes of generated stereo WAV per file through the pipeline (MP3, AAC, Opus
 * transcodes and the waveform as JSON/DAT/PNG), against the same transcodes and waveform made by
 * plain ffmpeg processes and the same fold, from local files, at the same concurrency.
 */
export async function benchAudio(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const { count, durationSec, concurrency } = settings.audio;
  const tracks = await audioTracks(settings.inputDir, count, durationSec);
  const audioConfig = stack.config.audio;
  const jobs: AudioRawJob[] = await Promise.all(
    tracks.map(async ({ file }) => {
      const probe = await probeMedia(file, { demuxers: AUDIO_DEMUXERS });
      const stream = probe.audio!;
      const pcm = { sampleRate: stream.sampleRate ?? 44100, channels: stream.channels ?? 2 };
      const source = {
        codec: stream.codec,
        bitrateKbps: stream.bitRate ? Math.round(stream.bitRate / 1000) : undefined,
        sampleRate: stream.sampleRate,
        channels: stream.channels,
        lossless: LOSSLESS.test(stream.codec),
      };
      return {
        file,
        demuxer: demuxerForProbedFormat(probe.format.name, AUDIO_DEMUXERS)!,
        targets: planTranscodes(source, audioConfig),
        pcm,
        samplesPerPixel: resolveSamplesPerPixel(pcm.sampleRate, audioConfig.waveform),
      };
    }),
  );
  const totalSec = count * durationSec;
  const raw = (run: number) =>
    runRawProcess(
      "audio-raw.ts",
      {
        jobs,
        outDir: path.join(context.workDir, `raw-audio-${run}`),
        concurrency,
        audio: audioConfig,
      } satisfies AudioRawRequest,
      path.join(context.workDir, "raw-audio.json"),
    );
  const workers = await startBenchWorkers(context, "audio", { concurrency });
  const pipeline = async (run: number) => {
    const result = await measuredPipelineRun(
      context,
      workers,
      tracks.map((track) => track.file),
      `audio-r${run}`,
    );
    checkSameTranscodes(result.jobs, jobs);
    return result;
  };
  const pipelineFactors: number[] = [];
  const rawFactors: number[] = [];
  const allJobs: JobRecord[] = [];
  const cpu = { pipeline: [] as number[], raw: [] as number[] };
  try {
    context.log("audio: warm-up");
    await pipeline(0);
    await raw(0);
    for (let run = 1; run <= settings.runs; run += 1) {
      const [ours, theirs] = await alternate(
        run,
        () => pipeline(run),
        () => raw(run),
      );
      pipelineFactors.push(realtimeFactor(totalSec, ours.wallMs));
      rawFactors.push(realtimeFactor(totalSec, theirs.wallMs));
      allJobs.push(...ours.jobs);
      cpu.pipeline.push(ours.workerCpuSec / totalSec);
      cpu.raw.push(theirs.cpuSec / totalSec);
      context.log(
        `audio run ${run}: pipeline ${pipelineFactors.at(-1)!.toFixed(1)}× realtime, raw ${rawFactors.at(-1)!.toFixed(1)}× realtime`,
      );
    }
  } finally {
    await workers.stop();
  }
  // Transcodes carry no timestamps, so sizes match; the JSON/DAT/PNG come from the same fold.
  const lastJobs = allJobs.slice(-tracks.length);
  const same = sameOutputsNote(
    "audio",
    await differingOutputs(
      path.join(context.workDir, `raw-audio-${settings.runs}`),
      lastJobs,
      `audio-r${settings.runs}`,
    ),
  );
  const split = allJobs
    .map((job) => splitJobTime(job.timeline, "processing", "processed"))
    .filter((value) => value !== undefined);
  return {
    title: "Audio",
    setup: [
      `inputs: ${count} generated ${durationSec} s stereo 44.1 kHz WAV file(s) (chords, tremolo, pink noise)`,
      `work on both sides: ${jobs[0]!.targets.map((target) => `${target.format} ${target.encoder} ${target.bitrateKbps}k`).join(", ")} as parallel ffmpeg processes, and the waveform (PCM decode folded into min/max at ${jobs[0]!.samplesPerPixel} samples per pixel) as JSON, DAT and PNG`,
      `concurrency ${concurrency} files at a time on both sides; realtime factor = seconds of audio processed per second of wall time`,
      "the pipeline also probes the input and reads tags (music-metadata); it checks each transcode from ffmpeg's own report and the file's first bytes (no ffprobe of the outputs since issue 20)",
    ],
    figures: [
      { label: "pipeline", unit: "× realtime", runs: pipelineFactors, digits: 1 },
      { label: "raw ffmpeg transcodes + waveform", unit: "× realtime", runs: rawFactors, digits: 1 },
      {
        label: "CPU per second of audio, worker (incl. ffmpeg, ffprobe)",
        unit: "cpu-s",
        runs: cpu.pipeline,
        digits: 3,
      },
      { label: "CPU per second of audio, raw (incl. ffmpeg)", unit: "cpu-s", runs: cpu.raw, digits: 3 },
    ],
    ratios: [
      {
        label: "audio: pipeline / raw",
        runs: pipelineFactors.map((factor, index) => ratio(factor, rawFactors[index]!)),
        // Issue 20's target.
        target: { min: 0.95, text: "≥ 0.95×" },
      },
      {
        label: "audio: raw CPU / pipeline CPU",
        runs: cpu.raw.map((seconds, index) => ratio(seconds, cpu.pipeline[index]!)),
      },
    ],
    notes: [
      same,
      `Per job (median of ${split.length}): timeline ${round(median(split.map((s) => s.totalMs)))} ms, processor ${round(median(split.map((s) => s.insideMs)))} ms, pipeline around it ${round(median(split.map((s) => s.outsideMs)))} ms. Mean step costs: ${describeStepCosts(stepCosts(allJobs), 2)}.`,
    ],
  };
}

/** The comparison is only fair if the pipeline made the transcodes the raw side makes. */
function checkSameTranscodes(jobs: JobRecord[], planned: AudioRawJob[]): void {
  const expected = planned[0]!.targets.map((target) => `${target.format}:${target.bitrateKbps}`).join(",");
  for (const job of jobs) {
    const made = (
      (job.result as { metadata?: { transcodes?: Array<{ format: string; bitrateKbps: number }> } })?.metadata
        ?.transcodes ?? []
    )
      .map((transcode) => `${transcode.format}:${transcode.bitrateKbps}`)
      .join(",");
    if (made !== expected)
      throw new Error(`the pipeline made transcodes ${made}, the raw side ${expected}: not the same work`);
  }
}
