import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { FFMPEG_GLOBAL_ARGS_STDOUT_DATA } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { VIDEO_DEMUXERS } from "../../src/media/safe-input.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { planLadder, type PlannedRung } from "../../src/processors/video/ladder-plan.ts";
import { measuredPipelineRun, rotating, round, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { videoClip } from "../lib/inputs.ts";
import { waitedChildrenCpuSeconds } from "../lib/process-cpu.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";
import { median, realtimeFactor, speedRatioFromTimes } from "../lib/stats.ts";
import { describeStepCosts, stepCosts } from "../lib/timeline.ts";

/**
 * Video: a generated 1080p30 clip through the pipeline (probe → one-pass HLS ladder with its poster frame →
 * upload of every playlist and segment), against the raw one-pass ladder command (the exact
 * arguments the processor builds, run as a plain ffmpeg) and against one ffmpeg run per rung,
 * one after another (and side by side with BENCH_VIDEO_PARALLEL=1). One job at a time.
 */
export async function benchVideo(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const clip = await videoClip(settings.inputDir, settings.video.durationSec);
  const durationSec = clip.durationSec!;
  const probe = await probeMedia(clip.file, { demuxers: VIDEO_DEMUXERS });
  const video = probe.video!;
  const config = stack.config.video;
  const rungs = planLadder(
    { width: video.displayWidth, height: video.displayHeight, bitRate: probe.format.bitRate },
    config.rungs,
  );
  const source = {
    videoStreamIndex: video.index,
    audioStreamIndex: probe.audio?.index,
    fps: video.fps,
    baseFps: video.baseFps,
    durationSec: probe.durationSec,
  };
  const encodeSettings = {
    x264Preset: config.x264Preset,
    maxFps: config.maxFps,
    segmentSeconds: config.segmentSeconds,
    keyframeSeconds: config.keyframeSeconds,
    addSilentAudio: config.addSilentAudio,
    segmentFormat: config.segmentFormat,
  };
  const ladder = (subset: PlannedRung[], outDir: string) =>
    hlsLadderArgs({
      inputPath: clip.file,
      demuxer: probe.format.demuxer,
      source,
      rungs: subset,
      settings: encodeSettings,
      audioOnlyKbps: undefined,
      outDir,
    });
  const parallel = settings.video.perRungParallel;

  const timed = async (
    name: string,
    run: number,
    work: (outDir: string) => Promise<unknown>,
  ): Promise<{ wallMs: number; cpuSec: number }> => {
    const outDir = path.join(context.workDir, `video-${name}-${run}`);
    await mkdir(outDir, { recursive: true });
    const cpuBefore = await waitedChildrenCpuSeconds();
    const started = performance.now();
    await work(outDir);
    const wallMs = performance.now() - started;
    const cpuSec = (await waitedChildrenCpuSeconds()) - cpuBefore;
    await rm(outDir, { recursive: true, force: true });
    return { wallMs, cpuSec };
  };
  const onePass = (run: number) => timed("one-pass", run, (outDir) => ffmpeg(ladder(rungs, outDir)));
  const perRung = (run: number) =>
    timed("per-rung", run, async (outDir) => {
      for (const rung of rungs) await ffmpeg(ladder([rung], outDir));
    });
  const perRungParallel = (run: number) =>
    timed("per-rung-parallel", run, (outDir) => Promise.all(rungs.map((rung) => ffmpeg(ladder([rung], outDir)))));

  const workers = await startBenchWorkers(context, "video", { concurrency: settings.video.concurrency });
  const jobs: JobRecord[] = [];
  const beside = { workerOwn: [] as number[], emulator: [] as number[], tools: [] as number[] };
  const pipeline = async (run: number) => {
    const result = await measuredPipelineRun(context, workers, [clip.file], `video-r${run}`);
    jobs.push(...result.jobs);
    beside.workerOwn.push(result.workerOwnCpuSec);
    beside.emulator.push(result.emulatorCpuSec);
    beside.tools.push(result.workerCpuSec - result.workerOwnCpuSec);
    return { wallMs: result.wallMs, cpuSec: result.workerCpuSec };
  };
  const times = {
    pipeline: [] as number[],
    onePass: [] as number[],
    perRung: [] as number[],
    perRungParallel: [] as number[],
  };
  const cpu = { pipeline: [] as number[], onePass: [] as number[], perRung: [] as number[] };
  try {
    // Not counted: a short clip of the same kind through the fresh worker first. Without it the
    // first timed run was the worker's first job (module loading, JIT, first sharp and ffmpeg
    // starts) and took 69.5 s against 50.1 and 58.0 s for the next two (2026-12-04).
    context.log("video: warm-up");
    const warmClip = await videoClip(settings.inputDir, 4);
    await measuredPipelineRun(context, workers, [warmClip.file], "video-warm");
    for (let run = 1; run <= settings.runs; run += 1) {
      const sides = [
        () => pipeline(run),
        () => onePass(run),
        () => perRung(run),
        ...(parallel ? [() => perRungParallel(run)] : []),
      ];
      const [ours, one, each, eachParallel] = await rotating(run, sides);
      times.pipeline.push(ours!.wallMs);
      times.onePass.push(one!.wallMs);
      times.perRung.push(each!.wallMs);
      cpu.pipeline.push(ours!.cpuSec / durationSec);
      cpu.onePass.push(one!.cpuSec / durationSec);
      cpu.perRung.push(each!.cpuSec / durationSec);
      if (eachParallel !== undefined) times.perRungParallel.push(eachParallel.wallMs);
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      context.log(
        `video run ${run}: pipeline ${seconds(ours!.wallMs)} s, one-pass ${seconds(one!.wallMs)} s, per rung ${seconds(each!.wallMs)} s${eachParallel !== undefined ? `, per rung parallel ${seconds(eachParallel.wallMs)} s` : ""}`,
      );
    }
  } finally {
    await workers.stop();
  }

  const factor = (values: number[]) => values.map((wallMs) => realtimeFactor(durationSec, wallMs));
  const figures: Figure[] = [
    { label: "pipeline (ladder + poster + upload, job recorded)", unit: "× realtime", runs: factor(times.pipeline) },
    { label: "raw one-pass ladder (the processor's command)", unit: "× realtime", runs: factor(times.onePass) },
    { label: "raw one ffmpeg per rung, one after another", unit: "× realtime", runs: factor(times.perRung) },
    { label: "CPU per second of video, worker (incl. ffmpeg, ffprobe)", unit: "cpu-s", runs: cpu.pipeline },
    { label: "CPU per second of video, raw one-pass", unit: "cpu-s", runs: cpu.onePass },
    { label: "CPU per second of video, raw per rung", unit: "cpu-s", runs: cpu.perRung },
    // Where the pipeline's extra CPU goes (issue 20): on a 2-core machine ffmpeg alone keeps both
    // cores busy, so every CPU-second beside it is about half a second of ffmpeg's wall time.
    { label: "CPU per job: the worker's tools (ffmpeg, ffprobe)", unit: "cpu-s", runs: beside.tools },
    {
      label: "CPU per job: raw one-pass ffmpeg",
      unit: "cpu-s",
      runs: cpu.onePass.map((perSec) => perSec * durationSec),
    },
    {
      label: "CPU per job: the worker process itself (node, uploads, poster sharp)",
      unit: "cpu-s",
      runs: beside.workerOwn,
    },
    { label: "CPU per job: the emulator storing the outputs (bench process)", unit: "cpu-s", runs: beside.emulator },
  ];
  const ratios: RatioFigure[] = [
    {
      label: "video pipeline / raw one-pass (time ratio)",
      runs: times.pipeline.map((ms, index) => speedRatioFromTimes(ms, times.onePass[index]!)),
      // Issue 20's target.
      target: { min: 0.97, text: "≥ 0.97×" },
    },
    {
      label: "video: raw one-pass CPU / pipeline CPU",
      runs: cpu.onePass.map((seconds, index) => seconds / cpu.pipeline[index]!),
    },
    {
      label: "one-pass / per-rung sequential (speed-up)",
      runs: times.onePass.map((ms, index) => speedRatioFromTimes(ms, times.perRung[index]!)),
      target: { min: 1.0, text: "> 1.00× (one-pass faster)" },
    },
  ];
  if (parallel) {
    figures.push({
      label: "raw one ffmpeg per rung, side by side",
      unit: "× realtime",
      runs: factor(times.perRungParallel),
    });
    ratios.push({
      label: "one-pass / per-rung parallel (speed-up)",
      runs: times.onePass.map((ms, index) => speedRatioFromTimes(ms, times.perRungParallel[index]!)),
    });
  }
  const overlap = jobs.map((job) => overlapOf(job)).filter((value) => value !== undefined);
  const encodeMs = jobs
    .map((job) => Number(job.timeline.find((entry) => entry.event === "encoded")?.detail?.["elapsedMs"] ?? Number.NaN))
    .filter(Number.isFinite);
  return {
    title: "Video",
    setup: [
      `input: a generated ${durationSec} s 1920×1080 30 fps clip (testsrc2 with temporal grain, H.264 16 Mbit/s, AAC)`,
      `ladder: ${rungs.map((rung) => `${rung.name} ${rung.width}×${rung.height} ${rung.videoKbps}k`).join(" / ")}, x264 ${config.x264Preset}, ${config.segmentSeconds} s ${config.segmentFormat} segments`,
      "one job at a time (MEDIA_PROCESSOR_CONCURRENCY=1) against one ffmpeg command at a time; realtime factor = seconds of video per second of wall time",
      "the pipeline also downloads the clip, probes it, takes the poster frame from the ladder run's own decode (one more branch of its split, a PNG the raw command does not write) and makes its JPEG + WebP as soon as ffmpeg has written that frame, uploads each segment as ffmpeg closes it and every playlist after the encode",
    ],
    figures,
    ratios,
    notes: [
      `Inside the pipeline's job, ffmpeg's ladder run itself took a median ${round(median(encodeMs) / 1000, 1)} s (timeline \`encoded\` detail), against ${round(median(times.onePass) / 1000, 1)} s for the same command run raw; the rest is the job's own steps. Mean step costs: ${describeStepCosts(stepCosts(jobs), 5)}.`,
      ...(overlap.length > 0
        ? [
            `Overlap (timeline \`startedAt\`/\`endedAt\`): the upload started a median ${round(median(overlap.map((value) => value.uploadLeadMs)) / 1000, 1)} s before ffmpeg exited, with ${round(median(overlap.map((value) => value.duringEncode)), 0)} of ${round(median(overlap.map((value) => value.files)), 0)} files stored by then; the poster (its frame from the ladder's decode) took ${round(median(overlap.map((value) => value.posterMs)) / 1000, 2)} s and ${posterOverlap(median(overlap.map((value) => value.posterLeadMs)))}; ${round(median(overlap.map((value) => value.tailMs)) / 1000, 2)} s from ffmpeg's exit to the last upload.`,
          ]
        : []),
    ],
  };
}

/** How a job's upload and poster overlapped its encode, from the step times its timeline entries carry (undefined for older timelines). */
function overlapOf(job: JobRecord):
  | {
      uploadLeadMs: number;
      duringEncode: number;
      files: number;
      posterMs: number;
      posterLeadMs: number;
      tailMs: number;
    }
  | undefined {
  const detail = (name: string) => job.timeline.find((entry) => entry.event === name);
  const encoded = detail("encoded")?.detail as { endedAt?: string } | undefined;
  const uploaded = detail("uploaded");
  const upload = uploaded?.detail as { startedAt?: string; duringEncode?: number; files?: number } | undefined;
  const poster = detail("poster")?.detail as { startedAt?: string; endedAt?: string } | undefined;
  if (!encoded?.endedAt || !upload?.startedAt || !uploaded || !poster?.startedAt || !poster.endedAt) return undefined;
  const encodeEnd = Date.parse(encoded.endedAt);
  return {
    uploadLeadMs: encodeEnd - Date.parse(upload.startedAt),
    duringEncode: upload.duringEncode ?? 0,
    files: upload.files ?? 0,
    posterMs: Date.parse(poster.endedAt) - Date.parse(poster.startedAt),
    posterLeadMs: encodeEnd - Date.parse(poster.endedAt),
    tailMs: Date.parse(uploaded.at) - encodeEnd,
  };
}

/** Where the poster's work fell against the encode: done before ffmpeg exited (overlapped) or after it (added to the job). */
const posterOverlap = (leadMs: number): string =>
  leadMs >= 0
    ? `was done ${round(leadMs / 1000, 2)} s before ffmpeg exited`
    : `ended ${round(-leadMs / 1000, 2)} s after ffmpeg exited (not overlapped)`;

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", [...FFMPEG_GLOBAL_ARGS_STDOUT_DATA, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, MALLOC_ARENA_MAX: "2" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr}`)),
    );
  });
}
