import path from "node:path";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { alternate, measuredPipelineRun, round, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { reportPdfs } from "../lib/inputs.ts";
import { runRawProcess } from "../lib/raw-process.ts";
import type { AreaReport } from "../lib/report.ts";
import { median, perSecond, ratio } from "../lib/stats.ts";
import { describeStepCosts, splitJobTime, stepCosts } from "../lib/timeline.ts";
import { differingOutputs, sameOutputsNote } from "../lib/same-outputs.ts";
import type { DocumentRawRequest } from "../raw/document-raw.ts";

/**
 * Documents: generated multi-page PDFs through the pipeline (pdf.js in reused child processes:
 * thumbnail, previews of the first pages, text of every page) against a plain script doing the
 * same pdf.js render + text in one process with pdf.js loaded once, at the same concurrency.
 */
export async function benchDocuments(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const { count, pages, concurrency } = settings.documents;
  const files = (await reportPdfs(settings.inputDir, count, pages)).map((input) => input.file);
  const raw = (run: number) =>
    runRawProcess(
      "document-raw.ts",
      {
        files,
        outDir: path.join(context.workDir, `raw-documents-${run}`),
        concurrency,
        document: stack.config.document,
        webpQuality: stack.config.image.webpQuality,
      } satisfies DocumentRawRequest,
      path.join(context.workDir, "raw-documents.json"),
    );
  const workers = await startBenchWorkers(context, "documents", { concurrency });
  const pipeline = (run: number) => measuredPipelineRun(context, workers, files, `documents-r${run}`);
  const pipelineRates: number[] = [];
  const rawRates: number[] = [];
  const allJobs: JobRecord[] = [];
  const cpu = { pipeline: [] as number[], raw: [] as number[] };
  try {
    context.log("documents: warm-up");
    await pipeline(0);
    await raw(0);
    for (let run = 1; run <= settings.runs; run += 1) {
      const [ours, theirs] = await alternate(
        run,
        () => pipeline(run),
        () => raw(run),
      );
      pipelineRates.push(perSecond(files.length, ours.wallMs));
      rawRates.push(perSecond(files.length, theirs.wallMs));
      allJobs.push(...ours.jobs);
      cpu.pipeline.push(ours.workerCpuSec / files.length);
      cpu.raw.push(theirs.cpuSec / files.length);
      context.log(
        `documents run ${run}: pipeline ${pipelineRates.at(-1)!.toFixed(2)}/s, raw ${rawRates.at(-1)!.toFixed(2)}/s`,
      );
    }
  } finally {
    await workers.stop();
  }
  // The text files differ by the pipeline's final newline; the rendered pages must match.
  const same = sameOutputsNote(
    "documents (text files aside)",
    await differingOutputs(
      path.join(context.workDir, `raw-documents-${settings.runs}`),
      allJobs.slice(-files.length),
      `documents-r${settings.runs}`,
      /_text\.txt$/,
    ),
  );
  const split = allJobs
    .map((job) => splitJobTime(job.timeline, "processing", "processed"))
    .filter((value) => value !== undefined);
  const document = stack.config.document;
  return {
    title: "Documents",
    setup: [
      `inputs: ${count} generated ${pages}-page PDFs (text on every page, vector charts, a photo on every fifth page)`,
      `work on both sides: page 1 rendered at ${Math.max(document.thumbWidthPx, document.previewWidthPx)} px → ${document.thumbWidthPx} px thumbnail WebP, previews of pages 1–${document.previewPages} at ${document.previewWidthPx} px WebP, text of every page (pdf.js ${"legacy build"}, same options)`,
      `concurrency ${concurrency} documents at a time on both sides: the pipeline renders in ${concurrency} reused pdf.js child processes (one core each), the plain script in its one process`,
    ],
    figures: [
      { label: "pipeline", unit: "documents/s", runs: pipelineRates, digits: 2 },
      { label: "raw pdf.js render + text (one process)", unit: "documents/s", runs: rawRates, digits: 2 },
      { label: "CPU per document, worker (incl. its pdf.js processes)", unit: "cpu-s", runs: cpu.pipeline, digits: 3 },
      { label: "CPU per document, raw", unit: "cpu-s", runs: cpu.raw, digits: 3 },
    ],
    ratios: [
      { label: "documents: pipeline / raw", runs: pipelineRates.map((rate, index) => ratio(rate, rawRates[index]!)) },
      {
        label: "documents: raw CPU / pipeline CPU",
        runs: cpu.raw.map((seconds, index) => ratio(seconds, cpu.pipeline[index]!)),
      },
    ],
    notes: [
      same,
      `Per job (median of ${split.length}): timeline ${round(median(split.map((s) => s.totalMs)))} ms, processor ${round(median(split.map((s) => s.insideMs)))} ms, pipeline around it ${round(median(split.map((s) => s.outsideMs)))} ms. Mean step costs: ${describeStepCosts(stepCosts(allJobs), 2)}.`,
    ],
  };
}
