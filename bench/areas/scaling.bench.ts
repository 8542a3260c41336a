import os from "node:os";
import { measuredPipelineRun, startBenchWorkers, type BenchContext } from "../lib/context.ts";
import { photoJpegs } from "../lib/inputs.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";
import { median, perSecond, ratio } from "../lib/stats.ts";

/**
 * Scaling: the 24 MP JPEG set through the pipeline at concurrency 1, 2 and 4 in one worker
 * process and with two worker processes, to show where a machine's cores saturate. The runs of
 * the layouts are interleaved (layout A, B, C, … then again), so drift spreads over all of them.
 */
export async function benchScaling(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const { jpegCount, layouts } = settings.scaling;
  const files = (await photoJpegs(settings.inputDir, jpegCount, ...settings.images.jpegSize)).map(
    (input) => input.file,
  );
  const name = (layout: { processes: number; concurrency: number }) =>
    `${layout.processes} process${layout.processes > 1 ? "es" : ""} × concurrency ${layout.concurrency}`;
  const rates = layouts.map(() => [] as number[]);
  const peaks = layouts.map(() => 0);
  for (let run = 1; run <= settings.runs; run += 1) {
    for (const [index, layout] of layouts.entries()) {
      // Fresh workers per layout and run: only one layout's workers may consume at a time.
      const workers = await startBenchWorkers(context, `scaling-${layout.processes}x${layout.concurrency}`, {
        processes: layout.processes,
        concurrency: layout.concurrency,
      });
      try {
        if (run === 1 && index === 0) {
          context.log("scaling: warm-up");
          await stack.runJobs(await stack.upload(files.slice(0, 1), "scaling-warm"), 15 * 60_000);
        }
        const result = await measuredPipelineRun(context, workers, files, `scaling-${index}-r${run}`);
        rates[index]!.push(perSecond(files.length, result.wallMs));
        peaks[index] = Math.max(peaks[index]!, ...(await workers.peakRssMiB()));
      } finally {
        await workers.stop();
        await stack.clearObjects();
      }
      context.log(`scaling run ${run}: ${name(layout)}: ${rates[index]!.at(-1)!.toFixed(3)} images/s`);
    }
  }
  const figures: Figure[] = layouts.map((layout, index) => ({
    label: name(layout),
    unit: "images/s",
    runs: rates[index]!,
    digits: 3,
    note: `peak RSS ${Math.round(peaks[index]!)} MiB`,
  }));
  const baseline = rates[0]!;
  const ratios: RatioFigure[] = layouts.slice(1).map((layout, offset) => ({
    label: `${name(layout)} / ${name(layouts[0]!)}`,
    runs: rates[offset + 1]!.map((rate, run) => ratio(rate, baseline[run]!)),
  }));
  const best = layouts
    .map((layout, index) => ({ layout, rate: median(rates[index]!) }))
    .sort((a, b) => b.rate - a.rate)[0]!;
  return {
    title: "Scaling (images through the pipeline)",
    setup: [
      `${files.length} × ${settings.images.jpegSize.join("×")} JPEGs per run, every variant, on ${os.availableParallelism()} CPUs; workers started fresh for each layout and run`,
      "ratios are speed-ups over one process at concurrency 1, taken within the same run",
    ],
    figures,
    ratios,
    notes: [
      `Fastest layout in this run: ${name(best.layout)} (${best.rate.toFixed(3)} images/s). Peak RSS per worker process: ${layouts.map((layout, index) => `${name(layout)} ${Math.round(peaks[index]!)} MiB`).join(", ")}.`,
    ],
  };
}
