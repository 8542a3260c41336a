import { mkdir, mkdtemp, rm, writeFile, copyFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { loadConfig, type AppConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/logger.ts";
import { detectFileType } from "../../src/media/detect-type.ts";
import type { OutputFile, ProcessContext, ProcessResult, Processor } from "../../src/processors/processor.ts";
import { outputKey, outputLayout, runToken } from "../../src/storage/output-keys.ts";

/**
 * Runs one processor on a local file the way the pipeline does (same context, same output
 * naming), writing outputs into a local folder instead of S3. For processor golden tests;
 * end-to-end tests go through the real queue, Redis and emulator instead (tests/helpers/stack.ts).
 */
export interface LocalRun {
  result: ProcessResult;
  /** Output key → local file path holding its bytes. */
  files: Map<string, string>;
  outDir: string;
  steps: Array<{ event: string; detail?: Record<string, unknown> }>;
  progress: number[];
  cleanup(): Promise<void>;
}

/** The run token every local run writes under (the layout of job `job_local`, attempt 1). */
export const LOCAL_RUN = runToken("job_local", 1);

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    MEDIA_BUCKET: "media-bucket",
    MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:1/000000000000/media",
    REDIS_URL: "redis://127.0.0.1:1",
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

export async function processLocally(
  processor: Processor,
  inputFile: string,
  options: { sourceKey?: string; config?: AppConfig; signal?: AbortSignal } = {},
): Promise<LocalRun> {
  const config = options.config ?? testConfig();
  const root = await mkdtemp(path.join(os.tmpdir(), "mp-local-"));
  const workDir = path.join(root, "work");
  const outDir = path.join(root, "out");
  await mkdir(workDir);
  await mkdir(outDir);
  const inputPath = path.join(workDir, "input");
  await copyFile(inputFile, inputPath);
  const sourceKey = options.sourceKey ?? `tenants/t1/users/u1/media/${path.basename(inputFile)}`;
  const layout = outputLayout(sourceKey, config.storage.outputSegment, LOCAL_RUN);
  const files = new Map<string, string>();
  const steps: LocalRun["steps"] = [];
  const progress: number[] = [];
  const media = await detectFileType(inputPath);
  // Outputs still being written, so a failed run can wait for them before removing what it stored.
  const writing = new Set<Promise<unknown>>();
  const run = processor.process({
    jobId: "job_local",
    inputPath,
    workDir,
    sourceKey,
    media,
    config,
    logger: createLogger("silent"),
    signal: options.signal ?? new AbortController().signal,
    progress: (percent) => void progress.push(percent),
    step: (event, detail) => void steps.push(detail ? { event, detail } : { event }),
    output(request): Promise<OutputFile> {
      const written = storeOutput(request);
      writing.add(written);
      void written.finally(() => writing.delete(written)).catch(() => undefined);
      return written;
    },
  });
  async function storeOutput(request: Parameters<ProcessContext["output"]>[0]): Promise<OutputFile> {
    const key = outputKey(layout, request.name);
    const target = path.join(outDir, key);
    await mkdir(path.dirname(target), { recursive: true });
    if ("file" in request.body) await copyFile(request.body.file, target);
    else await writeFile(target, request.body.buffer);
    files.set(key, target);
    const { size } = await stat(target);
    return {
      key,
      variant: request.variant,
      contentType: request.contentType,
      bytes: size,
      ...(request.width !== undefined ? { width: request.width } : {}),
      ...(request.height !== undefined ? { height: request.height } : {}),
      ...(request.durationSec !== undefined ? { durationSec: request.durationSec } : {}),
    };
  }
  let result: ProcessResult;
  try {
    result = await run;
  } catch (error) {
    // As the pipeline does with a failed run's unpublished outputs (discardUnpublishedOutputs):
    // once the writes in flight settle, nothing the run stored is left.
    await Promise.allSettled([...writing]);
    await rm(outDir, { recursive: true, force: true });
    await mkdir(outDir);
    files.clear();
    throw error;
  }
  return { result, files, outDir, steps, progress, cleanup: () => rm(root, { recursive: true, force: true }) };
}
