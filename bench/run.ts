/**
 * `npm run bench`: our pipeline against the raw libraries doing the same work, in one run, as
 * ratios (issue 9). Areas: queue overhead (no-op processor vs a bare sqs-consumer loop), images
 * (vs raw sharp), audio (vs raw ffmpeg + waveform), documents (vs raw pdf.js), video (vs the raw
 * one-pass ladder and one ffmpeg per rung), scaling (concurrency 1/2/4 and 2 processes), jobstore
 * (list/get/stats latency and Redis memory at 100k and 1M jobs).
 * Prints a table and writes bench/results.md (a quick or partial run writes its page next to
 * the cached inputs instead, so it never replaces the full results). Never fails because the
 * machine is slow: only when something does not work (a job fails, a tool is missing).
 *
 * Settings and the quick mode: see bench-settings.ts.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { benchSettings, DEFAULT_AREAS, type AreaName } from "./bench-settings.ts";
import { benchAudio } from "./areas/audio.bench.ts";
import { benchDocuments } from "./areas/documents.bench.ts";
import { benchFairness } from "./areas/fairness.bench.ts";
import { benchFleet } from "./areas/fleet.bench.ts";
import { benchImages } from "./areas/images.bench.ts";
import { benchQuality } from "./areas/quality.bench.ts";
import { benchJobStore } from "./areas/jobstore.bench.ts";
import { benchQueue } from "./areas/queue.bench.ts";
import { benchScaling } from "./areas/scaling.bench.ts";
import { benchVideo } from "./areas/video.bench.ts";
import type { BenchContext } from "./lib/context.ts";
import { loadAverage, machineFacts } from "./lib/machine.ts";
import { areaToText, type AreaReport } from "./lib/report.ts";
import { renderQualityPage, renderResults } from "./lib/results-page.ts";
import { BenchStack } from "./lib/stack.ts";

const AREA_RUNNERS: Record<AreaName, (context: BenchContext) => Promise<AreaReport>> = {
  queue: benchQueue,
  images: benchImages,
  audio: benchAudio,
  documents: benchDocuments,
  video: benchVideo,
  scaling: benchScaling,
  quality: benchQuality,
  jobstore: benchJobStore,
  fairness: benchFairness,
  fleet: benchFleet,
};

const settings = benchSettings();
const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
const startedAt = new Date();
const machine = await machineFacts();
log(
  `${machine.cpus} CPUs, load ${machine.loadAverage}; ${settings.quick ? "quick" : "full"} run, ${settings.runs} runs per figure, areas: ${settings.areas.join(", ")}`,
);

await mkdir(settings.inputDir, { recursive: true });
const stack = await BenchStack.start();
const workDir = path.join(stack.tempDir, "work");
await mkdir(workDir, { recursive: true });
const context: BenchContext = { settings, stack, workDir, log };
const reports: AreaReport[] = [];
const failures: string[] = [];
const areaSeconds = new Map<AreaName, number>();
try {
  for (const area of settings.areas) {
    const areaStarted = Date.now();
    log(`${area}: start (load ${loadAverage()})`);
    try {
      const report = await AREA_RUNNERS[area](context);
      reports.push(report);
      process.stdout.write(`\n${areaToText(report)}\n`);
    } catch (error) {
      failures.push(`${area}: ${(error as Error).stack ?? String(error)}`);
      log(`${area}: FAILED: ${(error as Error).message}`);
    }
    areaSeconds.set(area, Math.round((Date.now() - areaStarted) / 1000));
    log(`${area}: ${areaSeconds.get(area)} s`);
    await stack.purgeQueue();
    await stack.clearObjects().catch(() => undefined);
  }
} finally {
  if (settings.cpuProfile) {
    const kept = path.join(os.tmpdir(), `media-processor-bench-profiles-${Date.now()}`);
    await rm(kept, { recursive: true, force: true });
    await mkdir(kept, { recursive: true });
    const { cp } = await import("node:fs/promises");
    await cp(path.join(workDir, "profiles"), kept, { recursive: true }).catch(() => undefined);
    log(`CPU profiles kept in ${kept}`);
  }
  await stack.stop();
}

const finishedAt = new Date();
const page = renderResults({ settings, machine, loadAtEnd: loadAverage(), startedAt, finishedAt, reports, failures });
// Only a full run of every area replaces bench/results.md; a quick or partial run must not overwrite it.
const complete = !settings.quick && DEFAULT_AREAS.every((area) => settings.areas.includes(area));
const resultsFile = complete
  ? path.join(import.meta.dirname, "results.md")
  : path.join(settings.inputDir, `results-${settings.quick ? "quick" : settings.areas.join("-")}.md`);
await writeFile(resultsFile, page);
log(
  `wrote ${complete ? "bench/results.md" : resultsFile} (${Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000)} s in total)`,
);
// The quality area's figures do not depend on the others: a full (not quick) run of it keeps its own page.
const quality = reports.find((report) => report.title === "Quality per byte");
if (quality && !settings.quick) {
  await writeFile(
    path.join(import.meta.dirname, "quality-results.md"),
    renderQualityPage({ machine, startedAt, seconds: areaSeconds.get("quality") ?? 0, report: quality }),
  );
  log("wrote bench/quality-results.md");
}
// The fairness area compares fleet layouts, not our code with raw tools: a full run of it keeps its own page too.
const fairness = reports.find((report) => report.title.startsWith("Fairness"));
if (fairness && !settings.quick) {
  await writeFile(
    path.join(import.meta.dirname, "results-fairness.md"),
    renderResults({
      settings,
      machine,
      loadAtEnd: loadAverage(),
      startedAt,
      finishedAt,
      reports: [fairness],
      failures: [],
    }),
  );
  log("wrote bench/results-fairness.md");
}
if (failures.length > 0) {
  log(`${failures.length} area(s) failed:\n${failures.join("\n")}`);
  process.exitCode = 1;
}
