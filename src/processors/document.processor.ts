import path from "node:path";
import type { AppConfig } from "../config/config.ts";
import { processingError } from "../errors.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import type { ChildEvent } from "./document/child-protocol.ts";
import { DocumentChildPool } from "./document/document-child.pool.ts";
import { convertToPdf, findExecutable } from "./document/libreoffice.ts";
import { encodePage, type EncodedPage } from "./document/page-encoder.ts";
import type { OutputFile, ProcessContext, ProcessResult, Processor } from "./processor.ts";
import { runSteps, type Step } from "./step-runner.ts";

/**
 * Documents: (Office → PDF with LibreOffice, if enabled) → pdf.js in a child process opens the
 * PDF, reads its facts, renders page 1 and the preview pages and streams every page's text to a
 * file → sharp encodes the renders as they arrive → upload thumbnail, previews and text.
 * Everything pdf.js does happens in the child, under a heap limit and the document's time budget.
 */
export interface DocumentProcessor extends Processor {
  /** Stops the pdf.js processes; call on worker shutdown. Idle ones never keep the process alive. */
  close(): Promise<void>;
}

export function createDocumentProcessor(config: AppConfig): DocumentProcessor {
  const pool = new DocumentChildPool({ heapMb: config.document.maxHeapMb, maxIdle: config.queue.concurrency });
  return {
    name: "document",
    accepts: (media: DetectedMedia) => media.kind === "document",
    process: (ctx) => processDocument(ctx, config, pool),
    close: () => pool.close(),
  };
}

/** What the steps learn and make, filled in as they run. */
interface DocumentRun {
  config: AppConfig;
  pool: DocumentChildPool;
  /** The document's time budget (DOCUMENT_TIME_BUDGET) ends here, whatever step it is in. */
  deadlineAt: number;
  pdfPath: string;
  convertedFrom: string | undefined;
  textPath: string;
  pages: EncodedPage[];
  pagesNotRendered: number[];
  read: Awaited<ReturnType<DocumentChildPool["run"]>>;
  outputs: OutputFile[];
}

/** The document steps, run in this order by the step runner (which checks the abort signal between them). */
const DOCUMENT_STEPS: readonly Step<DocumentRun>[] = [
  {
    name: "convert",
    run: async (run, { ctx }) => {
      const { pdfPath, convertedFrom } = await pdfInput(ctx, run.config.document, run.deadlineAt);
      run.pdfPath = pdfPath;
      run.convertedFrom = convertedFrom;
    },
  },
  {
    name: "read",
    entry: "document-read",
    run: async (run, { ctx, progress }) => {
      const { config, deadlineAt } = run;
      const settings = config.document;
      run.textPath = path.join(ctx.workDir, "document-text.txt");
      const encodes: Array<Promise<EncodedPage[]>> = [];
      const onEvent = (event: ChildEvent) => {
        switch (event.type) {
          case "opened":
            ctx.step("document-opened", { pages: event.pageCount, pdfVersion: event.pdfVersion });
            break;
          case "page": {
            const encoded = encodePage(event, {
              thumbWidthPx: settings.thumbWidthPx,
              previewWidthPx: settings.previewWidthPx,
              webpQuality: config.image.webpQuality,
            });
            // Awaited below; this keeps a failure while the child still runs from being "unhandled".
            encoded.catch(() => undefined);
            encodes.push(encoded);
            break;
          }
          case "page-failed":
            run.pagesNotRendered.push(event.pageNumber);
            ctx.logger.warn(
              { page: event.pageNumber, error: event.error.message },
              "a preview page could not be rendered; skipped",
            );
            break;
          case "progress":
            progress(event.percent, event.step);
            break;
        }
      };
      run.read = await run.pool.run(
        {
          pdfPath: run.pdfPath,
          textPath: run.textPath,
          thumbWidthPx: settings.thumbWidthPx,
          previewPages: settings.previewPages,
          previewWidthPx: settings.previewWidthPx,
          maxTextPages: settings.maxTextPages,
          maxImagePixels: settings.maxImagePixels,
          textDeadlineAt: deadlineAt - textStopMargin(settings.timeBudgetMs),
        },
        { signal: ctx.signal, timeoutMs: deadlineAt - Date.now(), budgetMs: settings.timeBudgetMs, onEvent },
      );
      run.pages = (await Promise.all(encodes)).flat();
      const { text } = run.read;
      return {
        pagesRendered: encodes.length,
        textPages: text.pagesExtracted,
        words: text.wordCount,
        truncated: text.truncated,
      };
    },
  },
  {
    name: "store",
    run: async (run, { ctx, progress }) => {
      for (const page of sortOutputs(run.pages)) {
        run.outputs.push(
          await ctx.output({
            name: page.name,
            variant: page.variant,
            body: { buffer: page.data },
            contentType: "image/webp",
            width: page.width,
            height: page.height,
          }),
        );
      }
      if (run.config.document.maxTextPages > 0) {
        run.outputs.push(
          await ctx.output({
            name: "text.txt",
            variant: "text",
            body: { file: run.textPath },
            contentType: "text/plain; charset=utf-8",
          }),
        );
      }
      progress(100, "uploaded");
    },
  },
];

async function processDocument(
  ctx: ProcessContext,
  config: AppConfig,
  pool: DocumentChildPool,
): Promise<ProcessResult> {
  // The steps fill in every other field before the result is read.
  const run = {
    config,
    pool,
    deadlineAt: Date.now() + config.document.timeBudgetMs,
    pagesNotRendered: [],
    outputs: [],
  } as unknown as DocumentRun;
  await runSteps(ctx, DOCUMENT_STEPS, run);
  const { read, pages, convertedFrom } = run;
  return {
    outputs: run.outputs,
    metadata: {
      ...read.facts,
      ...(convertedFrom ? { convertedFrom } : {}),
      previewPages: pages.filter((page) => page.variant !== "thumb").length,
      pagesNotRendered: run.pagesNotRendered,
      text: read.text,
      pdfjsVersion: read.pdfjsVersion,
    },
  };
}

/** The PDF to read: the upload itself, or LibreOffice's conversion of it when that is enabled. */
async function pdfInput(
  ctx: ProcessContext,
  settings: AppConfig["document"],
  deadlineAt: number,
): Promise<{ pdfPath: string; convertedFrom?: string }> {
  const { format } = ctx.media;
  if (format === "pdf") return { pdfPath: ctx.inputPath };
  if (!settings.libreOfficeEnabled) {
    throw processingError(
      "unsupported-type",
      `${format} documents are not processed: only PDF is, unless DOCUMENT_ENABLE_LIBREOFFICE=true and LibreOffice (soffice) is installed`,
    );
  }
  const soffice = await findExecutable("soffice");
  if (!soffice) {
    ctx.logger.warn("DOCUMENT_ENABLE_LIBREOFFICE is true but soffice is not on PATH");
    throw processingError("unsupported-type", `${format} documents need LibreOffice, and soffice is not on PATH`);
  }
  ctx.step("document-converting", { from: format });
  const started = Date.now();
  const pdfPath = await convertToPdf({
    soffice,
    inputPath: ctx.inputPath,
    format,
    workDir: ctx.workDir,
    signal: ctx.signal,
    timeoutMs: deadlineAt - Date.now(),
  });
  ctx.step("document-converted", { from: format, ms: Date.now() - started });
  return { pdfPath, convertedFrom: format };
}

/**
 * Text reading stops this long before the budget ends, so a long document returns the text read
 * so far (marked truncated) instead of being killed with nothing.
 */
function textStopMargin(budgetMs: number): number {
  return Math.min(10_000, Math.max(500, budgetMs * 0.1));
}

/** thumb first, then the pages in order. */
function sortOutputs(pages: EncodedPage[]): EncodedPage[] {
  const rank = (page: EncodedPage) => (page.variant === "thumb" ? 0 : Number(page.variant.slice("page_".length)));
  return [...pages].sort((a, b) => rank(a) - rank(b));
}
