import { readFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { AppConfig } from "../../src/config/config.ts";
import { scoreEncodedImage, type ImageScores } from "../../src/processors/quality/image-quality.ts";
import type { QualityEncodeRequest, QualityEncodeResult, QualityEncodeSpec } from "../raw/quality-encode.ts";
import { runPool } from "../raw/raw-common.ts";
import type { BenchContext } from "./context.ts";
import { waitedChildrenCpuSeconds } from "./process-cpu.ts";
import { chooseSetting, mean, paretoFrontier, type SettingSummary } from "./quality-choice.ts";
import type { QualityImageInput } from "./quality-inputs.ts";
import { runRawProcess } from "./raw-process.ts";
import type { ReportTable } from "./report.ts";

/**
 * The stills half of the quality area: every candidate setting of every variant kind encoded
 * from each input (bench/raw/quality-encode.ts, CPU seconds per encode), then scored against the
 * input at the output's size with SSIMULACRA2 and ffmpeg's SSIM by the same code the
 * QUALITY_SCORES hook runs (src/processors/quality/image-quality.ts).
 */

/**
 * What each kind of output must reach (SSIMULACRA2, on the worst of the inputs): 70 is "high
 * quality" for what a page shows; the full-size original, where viewers zoom in, aims higher.
 * 85 (near visually lossless) was the first aim for it, but no mozjpeg setting up to quality 94
 * reaches it on a grainy photo (82.7 at 4:4:4 q94, 4.4× the bytes of the old default), so 75.
 */
export const STILL_TARGETS = { web: 70, thumb: 70, optimized: 75 } as const;
/**
 * CPU budget of one web-sized AVIF (the area's 1024×768 stills), in CPU seconds: AVIF is the
 * one encoder whose effort knob costs real CPU (effort 4 ≈ 10× effort 2 here), and it is made
 * for every upload. The budget is about what the rest of an image's variants cost together.
 */
export const AVIF_CPU_BUDGET_SEC = 1.0;

export interface Candidate {
  kind: keyof typeof STILL_TARGETS;
  group: string;
  format: QualityEncodeSpec["format"];
  quality: number;
  effort?: number;
  chromaSubsampling?: "4:2:0" | "4:4:4";
}

export function stillCandidates(full: boolean): Candidate[] {
  const list: Candidate[] = [];
  const add = (
    kind: Candidate["kind"],
    group: string,
    format: Candidate["format"],
    qualities: number[],
    extra: Partial<Candidate> = {},
  ) => {
    for (const quality of qualities) list.push({ kind, group, format, quality, ...extra });
  };
  add("web", "web WebP", "webp", full ? [70, 75, 80, 85, 90, 95] : [70, 80, 90]);
  add("web", "web AVIF effort 2", "avif", full ? [50, 60, 65, 70, 80] : [50, 60], { effort: 2 });
  add("web", "web AVIF effort 4", "avif", full ? [50, 60, 65, 70] : [50], { effort: 4 });
  add("thumb", "thumb_medium WebP", "webp", full ? [70, 75, 80, 85, 90, 95] : [70, 80]);
  add("optimized", "optimized mozjpeg 4:2:0", "jpeg", full ? [82, 86, 90, 94] : [82, 90], {
    chromaSubsampling: "4:2:0",
  });
  add("optimized", "optimized mozjpeg 4:4:4", "jpeg", full ? [82, 86, 90, 94] : [82, 90], {
    chromaSubsampling: "4:4:4",
  });
  return list;
}

export const candidateLabel = (candidate: Candidate): string => `${candidate.group} q${candidate.quality}`;

export interface StillRow {
  candidate: Candidate;
  perInput: Array<{ input: string; bytes: number; cpuSec: number; width: number; height: number; scores: ImageScores }>;
}

export interface StillsResult {
  rows: StillRow[];
  summaries: SettingSummary[];
  scoringCpuSec: number;
  comparisons: number;
  encodeCpuSec: number;
}

export async function measureStills(
  context: BenchContext,
  inputs: readonly QualityImageInput[],
  image: AppConfig["image"],
  ssimulacra2Binary: string,
): Promise<StillsResult> {
  const candidates = stillCandidates(context.settings.quality.fullCandidates);
  const maxDimension = (candidate: Candidate) =>
    candidate.kind === "web"
      ? image.webMaxDimension
      : candidate.kind === "thumb"
        ? image.thumbnailSizes.medium
        : undefined;
  const specs: Array<QualityEncodeSpec & { candidate: Candidate; inputName: string }> = inputs.flatMap((input) =>
    candidates.map((candidate, index) => ({
      id: `${input.name}-${index}`,
      input: input.file,
      format: candidate.format,
      quality: candidate.quality,
      ...(candidate.effort !== undefined ? { effort: candidate.effort } : {}),
      ...(candidate.chromaSubsampling !== undefined ? { chromaSubsampling: candidate.chromaSubsampling } : {}),
      maxDimension: maxDimension(candidate),
      candidate,
      inputName: input.name,
    })),
  );
  const outDir = path.join(context.workDir, "quality-stills");
  context.log(
    `quality: encoding ${specs.length} stills (${candidates.length} settings × ${inputs.length} inputs), one at a time`,
  );
  const encoded = await runRawProcess(
    "quality-encode.ts",
    {
      encodes: specs.map(({ candidate: _candidate, inputName: _inputName, ...spec }) => spec),
      outDir,
      webMaxDimension: image.webMaxDimension,
    } satisfies QualityEncodeRequest,
    path.join(context.workDir, "quality-encode.json"),
  );
  const results = new Map(
    ((encoded.detail?.["results"] ?? []) as QualityEncodeResult[]).map((result) => [result.id, result]),
  );

  context.log(
    `quality: scoring ${specs.length} stills with SSIMULACRA2 and SSIM, ${context.settings.quality.scoreParallel} at a time`,
  );
  const scores = new Map<string, ImageScores>();
  const ownBefore = process.cpuUsage();
  const childrenBefore = await waitedChildrenCpuSeconds();
  await runPool(specs, context.settings.quality.scoreParallel, async (spec) => {
    const result = results.get(spec.id)!;
    const reference = sharp(spec.input).autoOrient();
    scores.set(
      spec.id,
      await scoreEncodedImage(reference, await readFile(result.file), {
        metrics: ["ssimulacra2", "ssim"],
        workDir: outDir,
        name: `score-${spec.id}`,
        ssimulacra2Binary,
      }),
    );
  });
  const own = process.cpuUsage(ownBefore);
  const scoringCpuSec = (own.user + own.system) / 1e6 + (await waitedChildrenCpuSeconds()) - childrenBefore;

  const rows: StillRow[] = candidates.map((candidate) => ({
    candidate,
    perInput: specs
      .filter((spec) => spec.candidate === candidate)
      .map((spec) => {
        const result = results.get(spec.id)!;
        return {
          input: spec.inputName,
          bytes: result.bytes,
          cpuSec: result.cpuSec,
          width: result.width,
          height: result.height,
          scores: scores.get(spec.id)!,
        };
      }),
  }));
  const summaries = rows.map((row) => ({
    id: candidateLabel(row.candidate),
    group: row.candidate.group,
    minScore: Math.min(...row.perInput.map((entry) => entry.scores.ssimulacra2 ?? Number.NaN)),
    meanBytes: mean(row.perInput.map((entry) => entry.bytes)),
    meanCpuSec: mean(row.perInput.map((entry) => entry.cpuSec)),
  }));
  return { rows, summaries, scoringCpuSec, comparisons: specs.length, encodeCpuSec: encoded.cpuSec };
}

const kib = (bytes: number) => (bytes / 1024).toFixed(1);

/** One table per variant kind: per input KiB and SSIMULACRA2, then the worst score, mean KiB/CPU and the frontier marks. */
export function stillTables(
  result: StillsResult,
  inputs: readonly QualityImageInput[],
  current: (candidate: Candidate) => boolean,
): ReportTable[] {
  const kinds = [...new Set(result.rows.map((row) => row.candidate.kind))];
  return kinds.map((kind) => {
    const rows = result.rows.filter((row) => row.candidate.kind === kind);
    const summaries = rows.map(
      (row) => result.summaries.find((summary) => summary.id === candidateLabel(row.candidate))!,
    );
    const byBytes = paretoFrontier(
      summaries.map((summary) => ({ id: summary.id, cost: summary.meanBytes, score: summary.minScore })),
    );
    const byCpu = paretoFrontier(
      summaries.map((summary) => ({ id: summary.id, cost: summary.meanCpuSec, score: summary.minScore })),
    );
    const size = rows[0]?.perInput[0];
    return {
      title: `Stills: ${kind} (${size ? `${size.width}×${size.height}` : "?"}; target SSIMULACRA2 ≥ ${STILL_TARGETS[kind]} on every input)`,
      header: [
        "setting",
        ...inputs.map((input) => `${input.name} KiB / S2`),
        "worst S2",
        "mean SSIM",
        "mean KiB",
        "CPU-s",
        "frontier",
      ],
      rows: rows.map((row, index) => {
        const summary = summaries[index]!;
        const marks = [byBytes.has(summary.id) ? "bytes" : "", byCpu.has(summary.id) ? "cpu" : ""]
          .filter(Boolean)
          .join("+");
        return [
          `${candidateLabel(row.candidate)}${current(row.candidate) ? " (current)" : ""}`,
          ...inputs.map((input) => {
            const entry = row.perInput.find((candidate) => candidate.input === input.name);
            return entry ? `${kib(entry.bytes)} / ${entry.scores.ssimulacra2?.toFixed(1) ?? "–"}` : "–";
          }),
          summary.minScore.toFixed(1),
          mean(row.perInput.map((entry) => entry.scores.ssim ?? Number.NaN)).toFixed(4),
          kib(summary.meanBytes),
          summary.meanCpuSec.toFixed(3),
          marks,
        ];
      }),
      notes: [
        "S2 = SSIMULACRA2 (90 ≈ visually lossless, 70 high quality, 50 medium); CPU-s = user+sys of the encode alone, mean over the inputs; frontier: no other setting of this table has fewer bytes (or less CPU) and a better worst score.",
      ],
    };
  });
}

export interface StillChoice {
  group: string;
  target: number;
  chosen: SettingSummary | undefined;
  current: SettingSummary | undefined;
}

/** The default each knob group's target picks, beside the current default. */
export function stillChoices(result: StillsResult, current: (candidate: Candidate) => boolean): StillChoice[] {
  const groups = [...new Set(result.rows.map((row) => row.candidate.group))];
  return groups.map((group) => {
    const row = result.rows.find((candidate) => candidate.candidate.group === group)!;
    const target = STILL_TARGETS[row.candidate.kind];
    const budget = row.candidate.format === "avif" ? AVIF_CPU_BUDGET_SEC : undefined;
    const currentRow = result.rows.find(
      (candidate) => candidate.candidate.group === group && current(candidate.candidate),
    );
    return {
      group,
      target,
      chosen: chooseSetting(result.summaries, group, target, budget),
      current: currentRow
        ? result.summaries.find((summary) => summary.id === candidateLabel(currentRow.candidate))
        : undefined,
    };
  });
}
