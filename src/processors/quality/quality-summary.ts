import type { OutputFile, OutputQuality } from "../processor.ts";

/** The headline number of a score: SSIMULACRA2, else SSIM (pure). */
export function headlineScore(quality: OutputQuality): string {
  if (quality.error !== undefined) return `failed (${quality.error.slice(0, 80)})`;
  if (quality.ssimulacra2 !== undefined) return `ssimulacra2 ${quality.ssimulacra2.toFixed(1)}`;
  if (quality.ssim !== undefined)
    return `ssim ${quality.ssim.toFixed(4)}${quality.psnrDb !== undefined ? ` psnr ${quality.psnrDb.toFixed(1)} dB` : ""}`;
  return "no score";
}

/** Timeline detail of a `quality-scored` step: one line per scored output (pure). */
export function qualityStepDetail(outputs: readonly OutputFile[]): Record<string, unknown> {
  const scored = outputs.filter((output) => output.quality !== undefined);
  return {
    metric: scored[0]?.quality?.metric ?? null,
    failed: scored.filter((output) => output.quality?.error !== undefined).length,
    scores: scored.map(
      (output) =>
        `${output.variant}${output.width && output.height ? ` ${output.width}x${output.height}` : ""}: ${headlineScore(output.quality!)}`,
    ),
  };
}
