/**
 * Measures the one-pass HLS ladder (decode once, split, encode every rung in one ffmpeg) against
 * one ffmpeg run per rung, sequential and parallel, on the same generated 1080p clip, with the
 * same command builder and settings the worker uses.
 *
 *   node scripts/measure-ladder.ts [--duration 10] [--fps 30] [--preset veryfast] [--repeat 1] [--json]
 *
 * Prints wall time, realtime factor (seconds of video per second of wall time) and CPU seconds
 * of the ffmpeg children. The clip is testsrc2 with temporal noise, so x264 has real work to do.
 * Timings on a shared machine are noisy: repeat, and compare runs taken together.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { runFfmpeg } from "../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../src/media/ffprobe.ts";
import { hlsLadderArgs } from "../src/processors/video/hls-command.ts";
import { planLadder, type PlannedRung } from "../src/processors/video/ladder-plan.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    fps: { type: "string", default: "30" },
    preset: { type: "string", default: "veryfast" },
    repeat: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
  },
});
const durationSec = Number(values.duration);
const fps = Number(values.fps);
const repeat = Math.max(1, Number(values.repeat));

const RUNGS = [
  { height: 480, videoKbps: 1400, audioKbps: 96 },
  { height: 720, videoKbps: 2800, audioKbps: 128 },
  { height: 1080, videoKbps: 5000, audioKbps: 160 },
];

/** CPU seconds used by this process's waited-for children (cutime + cstime in /proc/self/stat). */
async function childCpuSeconds(): Promise<number> {
  const stat = await readFile("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields after the command: index 13 = cutime, 14 = cstime (clock ticks, 100 per second on Linux).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

export interface LadderMeasurement {
  variant: string;
  wallSec: number;
  realtimeFactor: number;
  cpuSec: number;
}

async function timed(variant: string, work: () => Promise<unknown>): Promise<LadderMeasurement> {
  const cpuBefore = await childCpuSeconds();
  const started = performance.now();
  await work();
  const wallSec = (performance.now() - started) / 1000;
  return {
    variant,
    wallSec: round(wallSec),
    realtimeFactor: round(durationSec / wallSec),
    cpuSec: round((await childCpuSeconds()) - cpuBefore),
  };
}

const round = (value: number) => Math.round(value * 100) / 100;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "mp-measure-"));
  try {
    const clip = path.join(dir, "source-1080p.mp4");
    await runFfmpeg({
      args: [
        "-f",
        "lavfi",
        "-i",
        `testsrc2=s=1920x1080:r=${fps},noise=alls=12:allf=t`,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        String(durationSec),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-y",
        clip,
      ],
      trustedInputs: true,
    });
    const probe = await probeMedia(clip);
    const video = probe.video!;
    const rungs = planLadder({ width: video.displayWidth, height: video.displayHeight }, RUNGS);
    const source = {
      videoStreamIndex: video.index,
      audioStreamIndex: probe.audio?.index,
      fps: video.fps,
      durationSec: probe.durationSec,
    };
    const settings = {
      x264Preset: values.preset,
      maxFps: 60,
      segmentSeconds: 4,
      keyframeSeconds: 2,
      addSilentAudio: false,
      segmentFormat: "mpegts" as const,
    };
    const encode = (subset: PlannedRung[], outDir: string) =>
      runFfmpeg({
        args: hlsLadderArgs({
          inputPath: clip,
          demuxer: probe.format.demuxer,
          source,
          rungs: subset,
          settings,
          audioOnlyKbps: undefined,
          outDir,
        }),
      });

    const results: LadderMeasurement[] = [];
    for (let round = 0; round < repeat; round += 1) {
      results.push(await timed("one pass, all rungs", () => encode(rungs, path.join(dir, `one-pass-${round}`))));
      results.push(
        await timed("one run per rung, sequential", async () => {
          for (const rung of rungs) await encode([rung], path.join(dir, `sequential-${round}-${rung.name}`));
        }),
      );
      results.push(
        await timed("one run per rung, parallel", () =>
          Promise.all(rungs.map((rung) => encode([rung], path.join(dir, `parallel-${round}-${rung.name}`)))),
        ),
      );
    }
    const summary = {
      clip: `${video.width}x${video.height} ${fps} fps, ${durationSec} s, testsrc2+noise`,
      preset: values.preset,
      rungs: rungs.map((rung) => `${rung.name} ${rung.width}x${rung.height} ${rung.videoKbps}k`),
      cpus: os.cpus().length,
      results,
    };
    if (values.json) {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    console.log(`${summary.clip}, x264 ${summary.preset}, rungs ${summary.rungs.join(" / ")}, ${summary.cpus} CPUs`);
    console.log("variant                         wall s   x realtime   cpu s");
    for (const result of results) {
      console.log(
        `${result.variant.padEnd(32)}${String(result.wallSec).padStart(6)}   ${String(result.realtimeFactor).padStart(10)}   ${String(result.cpuSec).padStart(5)}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
