import { MediaError } from "../errors.ts";
import { runTool } from "./tool-process.ts";

/**
 * SSIMULACRA2 (Cloudinary's perceptual still-image metric: 90 ≈ visually lossless, 70 ≈ high
 * quality, 50 ≈ medium) through the `ssimulacra2_rs` command of the crates.io package of that
 * name, built without its video feature (`scripts/install-quality-tools.sh`). It reads two PNGs
 * of the same size that we wrote ourselves, never an upload, and prints `Score: <n>`.
 */

export const DEFAULT_SSIMULACRA2_BINARY = "ssimulacra2_rs";

/** `Score: 78.12345678` → 78.12345678 (pure). */
export function parseSsimulacra2Output(stdout: string): number {
  const match = /Score:\s*(-?[0-9]+(?:\.[0-9]+)?)/.exec(stdout);
  if (!match) throw new Error(`ssimulacra2 printed no score: ${stdout.trim().slice(0, 200)}`);
  return Number(match[1]);
}

export interface Ssimulacra2Options {
  binary?: string | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

/** The SSIMULACRA2 score of `distortedPng` against `referencePng` (higher is better, 100 = identical). */
export async function ssimulacra2Score(
  referencePng: string,
  distortedPng: string,
  options: Ssimulacra2Options = {},
): Promise<number> {
  const binary = options.binary ?? DEFAULT_SSIMULACRA2_BINARY;
  const result = await runTool({
    binary,
    args: ["image", referencePng, distortedPng],
    signal: options.signal,
    timeoutMs: options.timeoutMs,
    collectStdoutBytes: 4096,
  });
  if (result.exitCode !== 0 || result.timedOut) {
    throw new MediaError(
      `${binary} ${result.timedOut ? "timed out" : `exited with code ${result.exitCode}`}: ${result.stderrTail.trim().slice(-300)}`,
      { code: "quality-metric-failed", category: "processing" },
    );
  }
  return parseSsimulacra2Output(result.stdout);
}
