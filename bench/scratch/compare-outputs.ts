import { mkdir, readdir, readFile, writeFile, stat } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { benchSettings } from "../bench-settings.ts";
import { BenchStack, KEY_PREFIX } from "../lib/stack.ts";
import { startBenchWorkers } from "../lib/context.ts";
import { runRawProcess } from "../lib/raw-process.ts";
const settings = benchSettings({});
const stack = await BenchStack.start();
const workDir = "/tmp/benchx/cmp"; await mkdir(workDir, { recursive: true });
const context = { settings, stack, workDir, log: (m: string) => console.error(m) };
const files = ["/tmp/media-processor-bench/photo-6000x4000-0.jpg", "/tmp/media-processor-bench/alpha-4000x3000-0.png", "/tmp/media-processor-bench/report-40p-0.pdf"];
const workers = await startBenchWorkers(context as never, "cmp", { concurrency: 2 });
const run = await stack.runJobs(await stack.upload(files, "cmp"), 300_000);
for (const job of run.jobs) {
  const outputs = (job.result as { outputs: Array<{ key: string; variant: string; width?: number; height?: number; bytes: number }> }).outputs;
  for (const o of outputs) {
    const body = await stack.s3.send(new GetObjectCommand({ Bucket: stack.local.bucket, Key: o.key }));
    const bytes = Buffer.from(await body.Body!.transformToByteArray());
    const out = path.join(workDir, "pipeline", path.basename(o.key)); await mkdir(path.dirname(out), { recursive: true }); await writeFile(out, bytes);
    console.log("pipeline", path.basename(o.key), o.width, o.height, o.bytes);
  }
}
await workers.stop();
await runRawProcess("image-raw.ts", { files: files.slice(0, 2), outDir: path.join(workDir, "raw"), concurrency: 2, mode: "shared-decode", image: stack.config.image }, path.join(workDir, "req.json"));
await runRawProcess("document-raw.ts", { files: files.slice(2), outDir: path.join(workDir, "raw"), concurrency: 2, document: stack.config.document, webpQuality: stack.config.image.webpQuality }, path.join(workDir, "req2.json"));
for (const name of (await readdir(path.join(workDir, "raw"))).sort()) {
  const file = path.join(workDir, "raw", name);
  const meta = name.endsWith(".txt") ? undefined : await sharp(file).metadata();
  console.log("raw", name, meta?.width, meta?.height, (await stat(file)).size);
}
await stack.stop();
