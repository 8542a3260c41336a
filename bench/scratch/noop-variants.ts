import { mkdir } from "node:fs/promises";
import path from "node:path";
import { benchSettings } from "../bench-settings.ts";
import { BenchStack } from "../lib/stack.ts";
import { startBenchWorkers } from "../lib/context.ts";
const settings = benchSettings({});
const stack = await BenchStack.start();
const workDir = path.join(stack.tempDir, "work"); await mkdir(workDir, { recursive: true });
const context = { settings, stack, workDir, log: (m: string) => console.error(m) };
const variants: Record<string, Record<string, string>> = {
  default: {},
  warnLogs: { LOG_LEVEL: "warn" },
  noChecksums: { AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED", AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED" },
};
const M = Number(process.argv[2] ?? 500);
const results: Record<string, { rate: number[]; cpu: number[] }> = {};
for (let run = 1; run <= 3; run++) {
  for (const [name, env] of Object.entries(variants)) {
    const uploaded = [] as Awaited<ReturnType<typeof stack.uploadBody>>[];
    for (let i = 0; i < M; i += 16) uploaded.push(...await Promise.all(Array.from({ length: Math.min(16, M - i) }, (_, k) => stack.uploadBody(`tenants/bench/users/u1/media/${name}-${run}-${i + k}.txt`, Buffer.from(`x ${i + k}`)))));
    const workers = await startBenchWorkers(context as never, `v-${name}-${run}`, { concurrency: 10, env: { PROCESSOR_MODULES: "./bench/noop.processor.ts", SQS_BATCH_SIZE: "10", ...env } });
    const c0 = await workers.cpuSeconds();
    await stack.notify(uploaded);
    await stack.waitForEmptyQueue(600_000, 100);
    const cpu = (await workers.cpuSeconds()) - c0;
    await workers.stop();
    const recs = await Promise.all(uploaded.map((u) => stack.store.get(u.jobId)));
    const wall = Math.max(...recs.map((r) => Date.parse(r!.finishedAt!))) - Math.min(...recs.map((r) => Date.parse(r!.createdAt)));
    (results[name] ??= { rate: [], cpu: [] }).rate.push(M / wall * 1000);
    results[name]!.cpu.push(cpu * 1000 / M);
    await stack.clearObjects();
    console.error(name, run, (M / wall * 1000).toFixed(0), "msg/s", (cpu * 1000 / M).toFixed(2), "cpu-ms/msg");
  }
}
console.log(JSON.stringify(results));
await stack.stop();
