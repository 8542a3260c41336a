import { mkdir } from "node:fs/promises";
import path from "node:path";
import { benchSettings } from "../bench-settings.ts";
import { BenchStack } from "../lib/stack.ts";
import { areaToText } from "../lib/report.ts";
const area = process.argv[2]!;
const mod = await import(`../areas/${area}.bench.ts`);
const fn = Object.values(mod)[0] as (c: unknown) => Promise<any>;
const settings = benchSettings();
await mkdir(settings.inputDir, { recursive: true });
const stack = await BenchStack.start();
const workDir = path.join(stack.tempDir, "work");
await mkdir(workDir, { recursive: true });
try {
  const report = await fn({ settings, stack, workDir, log: (m: string) => process.stderr.write(`bench: ${m}\n`) });
  console.log(areaToText(report));
  console.log(report.notes.join("\n"));
} finally {
  console.error("workdir", workDir);
  if (settings.cpuProfile) { const { cp } = await import("node:fs/promises"); await cp(path.join(workDir, "profiles"), "/tmp/benchx/profiles", { recursive: true }); }
  await stack.stop();
}
