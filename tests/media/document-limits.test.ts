import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { MediaError } from "../../src/errors.ts";
import { createDocumentProcessor, type DocumentProcessor } from "../../src/processors/document.processor.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";
import { contentBombPdf, threePagePdf } from "./document-fixtures.ts";

/**
 * The bounds that keep one hostile PDF from hurting the worker: the time budget and cancellation
 * stop pdf.js for real (its process is killed), and a PDF that exhausts pdf.js's heap kills only
 * its own process. After each, the same processor goes on to process a normal PDF.
 */

let dir: string;
let slowPdf: string;
let heapBomb: string;
let normalPdf: string;
const processors: DocumentProcessor[] = [];
const processorWith = (env: Record<string, string> = {}) => {
  const processor = createDocumentProcessor(testConfig(env));
  processors.push(processor);
  return processor;
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-doc-limits-"));
  slowPdf = path.join(dir, "slow.pdf");
  heapBomb = path.join(dir, "heap-bomb.pdf");
  normalPdf = path.join(dir, "normal.pdf");
  // 60 MB of line operators (~4 s of pdf.js work here); a 60 MB unterminated string (~60 KB file).
  await writeFile(slowPdf, await contentBombPdf("slow", 60));
  await writeFile(heapBomb, await contentBombPdf("heap", 60));
  await writeFile(normalPdf, await threePagePdf());
});
after(async () => {
  await Promise.all(processors.map((processor) => processor.close()));
  await rm(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<MediaError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MediaError, `expected a MediaError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the document to fail");
}

async function stillWorks(processor: DocumentProcessor): Promise<void> {
  const run = await processLocally(processor, normalPdf);
  assert.equal(run.result.metadata.pageCount, 3);
  await run.cleanup();
}

/**
 * How long a normal three-page PDF takes on this machine right now, with a warm child. Budgets and
 * "stopped promptly" bounds are scaled from it, so a busy machine slows both sides alike instead
 * of failing the test (the slow PDF's render costs many times a normal one).
 */
async function normalRunMs(): Promise<number> {
  const processor = processorWith();
  await stillWorks(processor);
  const started = performance.now();
  await stillWorks(processor);
  return performance.now() - started;
}

describe("document limits", () => {
  it("the time budget kills pdf.js mid-render and fails the job as a resource error", async () => {
    const normalMs = await normalRunMs();
    // At least 1 s, and room for a normal PDF several times over: the render alone takes far longer.
    const budgetMs = Math.max(1_000, Math.ceil(4 * normalMs));
    const processor = processorWith({ DOCUMENT_TIME_BUDGET: `${budgetMs}ms` });
    const started = performance.now();
    const error = await failure(processLocally(processor, slowPdf));
    const elapsedMs = performance.now() - started;
    assert.deepEqual([error.category, error.code, error.retryable], ["resource", "document-time-budget", false]);
    assert.ok(
      elapsedMs < budgetMs + 2_000 + 2 * normalMs,
      `stopped after ${Math.round(elapsedMs)} ms (budget ${budgetMs} ms)`,
    );
    await stillWorks(processor);
  });

  it("cancelling the job kills pdf.js at once and fails the job as cancelled", async () => {
    const normalMs = await normalRunMs();
    const processor = processorWith();
    const controller = new AbortController();
    const started = performance.now();
    setTimeout(() => controller.abort("cancelled"), 800);
    const error = await failure(processLocally(processor, slowPdf, { signal: controller.signal }));
    assert.deepEqual([error.category, error.code], ["cancelled", "cancelled"]);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 800 + 1_700 + 2 * normalMs, `stopped after ${Math.round(elapsedMs)} ms`);
    await stillWorks(processor);
  });

  it("a PDF that exhausts pdf.js's heap fails as out of memory; the worker process is untouched", async () => {
    const processor = processorWith({ DOCUMENT_MAX_HEAP_MB: "128" });
    const rssBefore = process.memoryUsage().rss;
    const error = await failure(processLocally(processor, heapBomb));
    assert.deepEqual([error.category, error.code, error.retryable], ["resource", "document-out-of-memory", false]);
    // The hundreds of MB went to the child; this process only passed messages.
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024);
    await stillWorks(processor);
  });
});
