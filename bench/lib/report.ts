import { median, meetsTarget, relativeSpread } from "./stats.ts";

/**
 * The shape of the benchmark's results and their rendering as a text table (stdout) and as
 * markdown (bench/results.md). Pure: areas fill the model, this file only formats it.
 */

/** One measured figure: its value in each run; the median is what is reported. */
export interface Figure {
  label: string;
  unit: string;
  runs: number[];
  /** Decimals shown; default 2. */
  digits?: number;
  note?: string;
}

/** A ratio ours/theirs per run (1.0 = as fast as the raw tools), optionally judged against a target. */
export interface RatioFigure {
  label: string;
  runs: number[];
  /** Met when the median ≥ min (higher is better) or ≤ max (a wait or a cost: lower is better). */
  target?: RatioTarget;
  note?: string;
}

export type RatioTarget = { min: number; text: string } | { max: number; text: string };

/** Verdict of a ratio against its target. */
export function targetMet(value: number, target: RatioTarget): boolean {
  return "min" in target ? meetsTarget(value, target.min) : value <= target.max;
}

export interface AreaReport {
  title: string;
  /** What was measured with what: inputs, concurrency, settings. */
  setup: string[];
  figures: Figure[];
  ratios: RatioFigure[];
  /** Profile findings and remarks (markdown allowed). */
  notes: string[];
  /** Tables of their own shape (the quality area's per-variant scores), after the figures. */
  tables?: ReportTable[];
}

export interface ReportTable {
  title: string;
  header: string[];
  rows: string[][];
  /** Lines under the table (markdown allowed). */
  notes?: string[];
}

export interface TargetVerdict {
  area: string;
  label: string;
  value: number;
  target: string;
  met: boolean;
}

/** Fixed decimals, no exponent, `–` for a missing value. */
export function formatNumber(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value.toFixed(digits);
}

/** `0.93×` style, the way ratios are written everywhere in the report. */
export function formatRatio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "–" : `${value.toFixed(2)}×`;
}

function runsText(runs: readonly number[], digits: number): string {
  return runs.map((run) => formatNumber(run, digits)).join(" / ");
}

function spreadText(runs: readonly number[]): string {
  return runs.length > 1 ? `±${Math.round((relativeSpread(runs) * 100) / 2)} %` : "";
}

/** Rows of [label, median, unit, runs, spread] for the figures, then the ratios. */
export function areaRows(area: AreaReport): string[][] {
  const rows: string[][] = [];
  for (const figure of area.figures) {
    const digits = figure.digits ?? 2;
    rows.push([
      figure.label,
      formatNumber(median(figure.runs), digits),
      figure.unit,
      runsText(figure.runs, digits),
      spreadText(figure.runs),
    ]);
  }
  for (const ratioFigure of area.ratios) {
    const value = median(ratioFigure.runs);
    const verdict = ratioFigure.target
      ? `${targetMet(value, ratioFigure.target) ? "met" : "MISSED"} (target ${ratioFigure.target.text})`
      : "";
    rows.push([
      ratioFigure.label,
      formatRatio(value),
      verdict,
      runsText(ratioFigure.runs, 2),
      spreadText(ratioFigure.runs),
    ]);
  }
  return rows;
}

/** Left-aligned columns padded to the widest cell, two spaces apart. */
export function renderTextTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? "").length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

/** A GitHub markdown table; pipes inside cells are escaped. */
export function renderMarkdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`),
  ].join("\n");
}

const HEADER = ["figure", "median", "unit / verdict", "runs", "spread"];

export function areaToText(area: AreaReport): string {
  const tables = (area.tables ?? []).flatMap((table) => [
    "",
    `-- ${table.title}`,
    renderTextTable(table.header, table.rows),
    ...(table.notes ?? []).map((note) => `   ${note}`),
  ]);
  return [
    `== ${area.title}`,
    ...area.setup.map((line) => `   ${line}`),
    renderTextTable(HEADER, areaRows(area)),
    ...tables,
  ].join("\n");
}

export function areaToMarkdown(area: AreaReport): string {
  return [
    `## ${area.title}`,
    "",
    ...area.setup.map((line) => `- ${line}`),
    "",
    renderMarkdownTable(HEADER, areaRows(area)),
    ...(area.tables ?? []).flatMap((table) => [
      "",
      `### ${table.title}`,
      "",
      renderMarkdownTable(table.header, table.rows),
      ...(table.notes && table.notes.length > 0 ? ["", ...table.notes.map((note) => `- ${note}`)] : []),
    ]),
    ...(area.notes.length > 0 ? ["", ...area.notes.map((note) => `- ${note}`)] : []),
    "",
  ].join("\n");
}

/** Every ratio that has a target, with its verdict, for the closing note. */
export function verdicts(areas: readonly AreaReport[]): TargetVerdict[] {
  return areas.flatMap((area) =>
    area.ratios
      .filter((ratioFigure): ratioFigure is RatioFigure & { target: RatioTarget } => ratioFigure.target !== undefined)
      .map((ratioFigure) => {
        const value = median(ratioFigure.runs);
        return {
          area: area.title,
          label: ratioFigure.label,
          value,
          target: ratioFigure.target.text,
          met: targetMet(value, ratioFigure.target),
        };
      }),
  );
}
