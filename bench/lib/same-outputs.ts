import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { parseOutputKey } from "../../src/s3-events/key-rules.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";

/**
 * The check that both sides did the same work: every output the pipeline stored in a run has a
 * file of the same name and the same size from the raw side (sharp, ffmpeg and pdf.js are
 * deterministic for the same input and settings). Raw files are named `<index>-<name>_<variant>.<ext>`;
 * the pipeline's keys end in `<run tag>-<index>-<name>.<source ext>.<run>_<variant>.<ext>`
 * (src/storage/output-keys.ts). Returns the differences.
 */
export async function differingOutputs(
  rawDir: string,
  jobs: readonly JobRecord[],
  runTag: string,
  ignore: RegExp = /$^/,
): Promise<string[]> {
  const rawSizes = new Map<string, number>();
  for (const name of await readdir(rawDir)) rawSizes.set(name, (await stat(path.join(rawDir, name))).size);
  const differences: string[] = [];
  for (const job of jobs) {
    const outputs = (job.result as { outputs?: Array<{ key: string; bytes: number }> } | undefined)?.outputs ?? [];
    for (const output of outputs) {
      const parsed = parseOutputKey(output.key, "processed");
      if (!parsed || parsed.kind === "manifest") continue;
      const name = `${path.parse(parsed.base.slice(runTag.length + 1)).name}_${parsed.name}`;
      if (ignore.test(name)) continue;
      const rawBytes = rawSizes.get(name);
      if (rawBytes === undefined) differences.push(`${name}: made by the pipeline only`);
      else if (rawBytes !== output.bytes)
        differences.push(`${name}: ${output.bytes} bytes from the pipeline, ${rawBytes} raw`);
      rawSizes.delete(name);
    }
  }
  for (const name of rawSizes.keys()) if (!ignore.test(name)) differences.push(`${name}: made by the raw side only`);
  return differences;
}

/** The area note stating the check's outcome. */
export function sameOutputsNote(what: string, differences: readonly string[]): string {
  return differences.length === 0
    ? `${what}: every output of the last run is byte-for-byte the same size on both sides (same work, same settings).`
    : `**${what}: the two sides did NOT make the same outputs** (the raw script no longer mirrors the processor's settings?): ${differences.slice(0, 6).join("; ")}${differences.length > 6 ? "; …" : ""}.`;
}
