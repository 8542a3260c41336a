import { access } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { alternate, measuredPipelineRun, round, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { alphaPngs, photoJpegs } from "../lib/inputs.ts";
import { runRawProcess } from "../lib/raw-process.ts";
import type { AreaReport, Figure, RatioFigure, ReportTable } from "../lib/report.ts";
import { median, perSecond, ratio } from "../lib/stats.ts";
import { describeStepCosts, splitJobTime, stepCosts } from "../lib/timeline.ts";
import { differingOutputs, sameOutputsNote } from "../lib/same-outputs.ts";
import type { ImageRawRequest, VariantCost } from "../raw/image-raw.ts";

/**
 * Images: N generated 24 MP JPEGs, and a set of PNGs with alpha, through the full pipeline
 * (queue → download → every variant → upload → job recorded) in a worker process, against a
 * plain sharp script making the identical variants with identical settings from local files,
 * at the same concurrency, in the same run.
 */
export async function benchImages(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const image = settings.images;
  const jpegs = (await photoJpegs(settings.inputDir, image.jpegCount, ...image.jpegSize)).map((input) => input.file);
  const pngs = (await alphaPngs(settings.inputDir, image.pngCount, ...image.pngSize)).map((input) => input.file);
  const workers = await startBenchWorkers(context, "images", { concurrency: image.concurrency });
  const figures: Figure[] = [];
  const ratios: RatioFigure[] = [];
  const notes: string[] = [];
  const tables: ReportTable[] = [];
  let rawPeakRss = 0;
  const ssimulacra2Binary = await findSsimulacra2();
  try {
    for (const set of [
      {
        name: "jpeg",
        label: `JPEG ${image.jpegCount}× ${image.jpegSize.join("×")}`,
        files: jpegs,
        perVariant: image.perVariantSide,
      },
      { name: "png", label: `PNG+alpha ${image.pngCount}× ${image.pngSize.join("×")}`, files: pngs, perVariant: false },
    ]) {
      const raw = (mode: ImageRawRequest["mode"], run: number) =>
        runRawProcess(
          "image-raw.ts",
          {
            files: set.files,
            outDir: path.join(context.workDir, `raw-${set.name}-${mode}-${run}`),
            concurrency: image.concurrency,
            mode,
            image: stack.config.image,
          } satisfies ImageRawRequest,
          path.join(context.workDir, `raw-${set.name}.json`),
        );
      const pipeline = (run: number) => measuredPipelineRun(context, workers, set.files, `${set.name}-r${run}`);
      // Warm-up with one file (not counted): first decode of each library, page cache, the worker's first job.
      context.log(`images/${set.name}: warm-up`);
      await measuredPipelineRun(context, workers, set.files.slice(0, 1), `${set.name}-warm`);
      await runRawProcess(
        "image-raw.ts",
        {
          files: set.files.slice(0, 1),
          outDir: path.join(context.workDir, `raw-${set.name}-warm`),
          concurrency: 1,
          mode: "shared-decode",
          image: stack.config.image,
        } satisfies ImageRawRequest,
        path.join(context.workDir, `raw-${set.name}.json`),
      );

      const pipelineRates: number[] = [];
      const rawRates: number[] = [];
      const plainRates: number[] = [];
      const cpu = { pipeline: [] as number[], emulator: [] as number[], raw: [] as number[] };
      const lastJobs: JobRecord[][] = [];
      for (let run = 1; run <= settings.runs; run += 1) {
        const [ours, theirs] = await alternate(
          run,
          () => pipeline(run),
          () => raw("shared-decode", run),
        );
        pipelineRates.push(perSecond(set.files.length, ours.wallMs));
        rawRates.push(perSecond(set.files.length, theirs.wallMs));
        rawPeakRss = Math.max(rawPeakRss, theirs.peakRssMiB);
        cpu.pipeline.push(ours.workerCpuSec / set.files.length);
        cpu.emulator.push(ours.emulatorCpuSec / set.files.length);
        cpu.raw.push(theirs.cpuSec / set.files.length);
        lastJobs.push(ours.jobs);
        if (set.perVariant) {
          const plain = await raw("per-variant", run);
          plainRates.push(perSecond(set.files.length, plain.wallMs));
        }
        context.log(
          `images/${set.name} run ${run}: pipeline ${pipelineRates.at(-1)!.toFixed(3)}/s, raw ${rawRates.at(-1)!.toFixed(3)}/s${set.perVariant ? `, raw per-variant ${plainRates.at(-1)!.toFixed(3)}/s` : ""}`,
        );
      }
      figures.push({ label: `${set.label}: pipeline`, unit: "images/s", runs: pipelineRates, digits: 3 });
      figures.push({
        label: `${set.label}: raw sharp, processor's decode plan`,
        unit: "images/s",
        runs: rawRates,
        digits: 3,
      });
      if (set.perVariant)
        figures.push({
          label: `${set.label}: raw sharp, one pipeline per variant`,
          unit: "images/s",
          runs: plainRates,
          digits: 3,
        });
      figures.push({ label: `${set.label}: CPU per image, worker`, unit: "cpu-s", runs: cpu.pipeline });
      figures.push({ label: `${set.label}: CPU per image, raw sharp`, unit: "cpu-s", runs: cpu.raw });
      figures.push({
        label: `${set.label}: CPU per image, emulator (S3/SQS) + harness`,
        unit: "cpu-s",
        runs: cpu.emulator,
      });
      ratios.push({
        label: `${set.label}: pipeline / raw sharp`,
        runs: pipelineRates.map((rate, index) => ratio(rate, rawRates[index]!)),
        ...(set.name === "jpeg" ? { target: { min: 0.9, text: "≥ 0.90×" } } : {}),
      });
      ratios.push({
        label: `${set.label}: raw CPU / pipeline CPU per image`,
        runs: cpu.raw.map((seconds, index) => ratio(seconds, cpu.pipeline[index]!)),
      });
      if (set.perVariant)
        ratios.push({
          label: `${set.label}: pipeline / raw per-variant sharp`,
          runs: pipelineRates.map((rate, index) => ratio(rate, plainRates[index]!)),
        });

      tables.push(await variantCostTable(context, set.name, set.label, set.files[0]!, ssimulacra2Binary));
      const last = settings.runs;
      notes.push(
        sameOutputsNote(
          set.label,
          await differingOutputs(
            path.join(context.workDir, `raw-${set.name}-shared-decode-${last}`),
            lastJobs[last - 1]!,
            `${set.name}-r${last}`,
          ),
        ),
      );
      const jobs = lastJobs.flat();
      const split = jobs
        .map((job) => splitJobTime(job.timeline, "processing", "processed"))
        .filter((value) => value !== undefined);
      notes.push(
        `${set.label}: per job (median over ${jobs.length} jobs) the timeline spans ${round(median(split.map((s) => s.totalMs)))} ms, of which the processor ${round(median(split.map((s) => s.insideMs)))} ms and the pipeline around it ${round(median(split.map((s) => s.outsideMs)))} ms. Mean step costs: ${describeStepCosts(stepCosts(jobs), 2)}.`,
      );
    }
    const peaks = await workers.peakRssMiB();
    figures.push({ label: "worker peak RSS (whole images area)", unit: "MiB", runs: [Math.max(...peaks)], digits: 0 });
    figures.push({ label: "raw sharp process peak RSS (largest run)", unit: "MiB", runs: [rawPeakRss], digits: 0 });
  } finally {
    await workers.stop();
  }
  return {
    title: "Images",
    setup: [
      `inputs: ${image.jpegCount} generated ${image.jpegSize.join("×")} JPEGs (q90, grain) and ${image.pngCount} ${image.pngSize.join("×")} PNGs with alpha`,
      `variants (both sides, from src/processors/image/image.plan.ts and the worker's config): thumb_small/medium/large WebP, optimized original, WebP and AVIF (effort ${stack.config.image.avifEffort}) at ${stack.config.image.webMaxDimension} px`,
      `concurrency ${image.concurrency} on both sides (MEDIA_PROCESSOR_CONCURRENCY / a pool of ${image.concurrency} in the raw script); MALLOC_ARENA_MAX=2 on both`,
      "pipeline time: first S3 notification sent → last job's finishedAt; raw time: inside the raw process, after its imports",
      "CPU: /proc times of the worker process (and anything it runs) around the run, of the raw process around its work, and of the benchmark process (the in-process S3+SQS emulator) around the run",
      "the processor also reads metadata (EXIF), and computes a ThumbHash and a dominant colour: processor work the raw script does not do",
    ],
    figures,
    ratios,
    notes,
    tables,
  };
}

/** ssimulacra2_rs as scripts/install-quality-tools.sh installs it, if it is there (the breakdown scores only then). */
async function findSsimulacra2(): Promise<string | undefined> {
  const candidates = [
    process.env.QUALITY_SSIMULACRA2_PATH,
    path.join(os.homedir(), ".cargo", "bin", "ssimulacra2_rs"),
  ].filter((file): file is string => Boolean(file));
  for (const file of candidates) {
    if (
      await access(file).then(
        () => true,
        () => false,
      )
    )
      return file;
  }
  return undefined;
}

/**
 * Where an image's CPU goes (issue 20): the processor's decode plan taken apart in a raw process,
 * one step at a time on the set's first file, with bytes and SSIMULACRA2 against the source at the
 * output's size (white background; large outputs on a 2048² centre crop).
 */
async function variantCostTable(
  context: BenchContext,
  name: string,
  label: string,
  file: string,
  ssimulacra2Binary: string | undefined,
): Promise<ReportTable> {
  context.log(`images/${name}: per-variant costs`);
  const result = await runRawProcess(
    "image-raw.ts",
    {
      files: [file],
      outDir: path.join(context.workDir, `raw-${name}-costs`),
      concurrency: 1,
      mode: "variant-costs",
      image: context.stack.config.image,
      ...(ssimulacra2Binary ? { ssimulacra2Binary } : {}),
    } satisfies ImageRawRequest,
    path.join(context.workDir, `raw-${name}-costs.json`),
  );
  const costs = (result.detail?.["costs"] ?? []) as VariantCost[];
  const current = costs.filter((row) => !row.step.includes("before issue 20"));
  const total = current.reduce((sum, row) => sum + row.cpuSec, 0);
  return {
    title: `${label}: CPU per step of one image (raw sharp, one step at a time)`,
    header: ["step", "CPU s", "share", "bytes", "SSIMULACRA2"],
    rows: costs.map((row) => [
      row.step,
      row.cpuSec.toFixed(2),
      row.step.includes("before issue 20") ? "(not made)" : `${Math.round((100 * row.cpuSec) / total)} %`,
      row.bytes === undefined ? "" : String(row.bytes),
      row.ssimulacra2 === undefined ? "" : row.ssimulacra2.toFixed(2),
    ]),
    notes: [
      `total of the steps made: ${total.toFixed(2)} cpu-s${ssimulacra2Binary ? "" : "; no ssimulacra2_rs installed (scripts/install-quality-tools.sh), so no scores"}`,
    ],
  };
}
