import type { BenchSettings } from "../bench-settings.ts";
import type { MachineFacts } from "./machine.ts";
import { areaToMarkdown, formatRatio, renderMarkdownTable, verdicts, type AreaReport } from "./report.ts";

/**
 * bench/results.md: machine facts, how to read the numbers, one section per area, and the
 * closing note with each target's verdict and, for a missed one, what the profile says costs.
 */
export interface ResultsInput {
  settings: BenchSettings;
  machine: MachineFacts;
  loadAtEnd: string;
  startedAt: Date;
  finishedAt: Date;
  reports: AreaReport[];
  failures: string[];
}

/**
 * Why a target is missed when it is, from profiling (kept here so every run's page says it next
 * to the verdict). Keyed by the start of the ratio's label.
 */
export const MISSED_TARGET_EXPLANATIONS: Array<{ labelStartsWith: string; text: string }> = [];

export function renderResults(input: ResultsInput): string {
  const { settings, machine } = input;
  const seconds = Math.round((input.finishedAt.getTime() - input.startedAt.getTime()) / 1000);
  const lines: string[] = [
    "# Benchmark results: the pipeline against the raw libraries",
    "",
    `Written by \`${settings.quick ? "BENCH_QUICK=1 " : ""}npm run bench\` on ${input.startedAt.toISOString()} (${seconds} s). ${settings.quick ? "**Quick smoke run: small inputs; its numbers are not the real ones.**" : ""}`.trim(),
    "",
    "**Ratios, not absolutes, are the point.** Each ratio compares two measurements taken in the same",
    "run on the same machine, back to back, same inputs, same concurrency (the order of the two",
    "sides alternates between runs so drift hits both). Absolute figures depend on the machine and on",
    "whatever else it runs; never compare them across machines or runs. Every figure is the median",
    `of ${settings.runs} runs (the runs are listed; "spread" is ±half the range over the median).`,
    "",
    "## Machine",
    "",
    renderMarkdownTable(
      ["fact", "value"],
      [
        ["CPUs", `${machine.cpus} × ${machine.cpuModel}`],
        ["memory", `${machine.memoryGiB} GiB`],
        ["kernel", machine.kernel],
        ["node", machine.node],
        ["sharp / libvips", `${machine.sharp} / ${machine.libvips}`],
        ["ffmpeg", machine.ffmpeg],
        ["redis", machine.redis],
        ["pdf.js", machine.pdfjs],
        ["MALLOC_ARENA_MAX", machine.mallocArenaMax],
        ["load average at start / end", `${machine.loadAverage} / ${input.loadAtEnd}`],
      ],
    ),
    "",
    "The machine may be shared (other test runs): the load average shows how busy it was.",
    "",
    "## Method",
    "",
    "- Pipeline side: the embedded local stack (fauxqs S3+SQS emulator in the benchmark process, a",
    "  real `redis-server`), and real worker processes (`node src/cli.ts worker`) started before the",
    "  runs. Inputs are uploaded under fresh keys before each run; the run is timed from the first S3",
    "  notification sent to the last job's `finishedAt` in Redis (or to the queue being empty, for the",
    "  no-op runs). The emulator's own CPU time is therefore part of the pipeline side, as S3 and SQS",
    "  would be (remotely) in production.",
    "- Raw side: a separate node process (bench/raw/*.ts) doing the same work with the libraries and",
    "  tools directly on local files, at the same concurrency, timed inside the process after its",
    "  imports; or, for video, the ffmpeg command run directly.",
    "- Both sides run with `MALLOC_ARENA_MAX=2`.",
    "",
    ...input.reports.map(areaToMarkdown),
    "## Closing note: targets",
    "",
  ];
  const judged = verdicts(input.reports);
  if (judged.length === 0) lines.push("No target was measured in this run.", "");
  else {
    lines.push(renderMarkdownTable(["area", "ratio", "median", "target", "verdict"], judged.map((verdict) => [verdict.area, verdict.label, formatRatio(verdict.value), verdict.target, verdict.met ? "met" : "**missed**"])), "");
    for (const verdict of judged.filter((candidate) => !candidate.met)) {
      const explanation = MISSED_TARGET_EXPLANATIONS.find((entry) => verdict.label.startsWith(entry.labelStartsWith));
      lines.push(`- **${verdict.label}: ${formatRatio(verdict.value)}, target ${verdict.target}.** ${explanation?.text ?? "See the area's notes for the profile of this run."}`);
    }
    if (judged.some((verdict) => !verdict.met)) lines.push("");
  }
  if (input.failures.length > 0) {
    lines.push("## Areas that failed", "", ...input.failures.map((failure) => `- \`${failure.split("\n")[0]}\``), "");
  }
  return `${lines.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}
