import { open, readFile, type FileHandle } from "node:fs/promises";
import { createCanvas } from "@napi-rs/canvas";
import type { PDFDocumentProxy, PDFPageProxy, RenderParameters } from "pdfjs-dist/types/src/display/api.js";
import type { ChildMessage, DocumentJob, RenderedPage } from "./child-protocol.ts";
import { serializeError } from "./pdf-errors.ts";
import { describePdf, type DocumentFacts, type RawPdfFacts } from "./pdf-metadata.ts";
import { documentInitParams, type PdfjsAssetDirs } from "./pdfjs-options.ts";
import { fitToWidth, planPageRenders, type PageRender } from "./render-plan.ts";
import { countCharacters, countWords, PAGE_BREAK, pageTextFromItems, type TextStats } from "./text-stats.ts";

/**
 * The work done inside the pdf.js process for one document: open → facts → for each page
 * (render if planned, read text if within the limits, release the page) → close. Runs only in
 * the child process (document.child.ts); the worker never loads pdf.js.
 */

export type PdfjsModule = typeof import("pdfjs-dist/legacy/build/pdf.mjs");
export type Emit = (message: ChildMessage) => Promise<void>;

export async function analysePdf(
  pdfjs: PdfjsModule,
  assets: PdfjsAssetDirs,
  job: DocumentJob,
  emit: Emit,
): Promise<{ facts: DocumentFacts; text: TextStats }> {
  const data = new Uint8Array(await readFile(job.pdfPath));
  const task = pdfjs.getDocument(documentInitParams(data, assets, job.maxImagePixels));
  try {
    const doc = await task.promise;
    const firstPage = await doc.getPage(1);
    const facts = describePdf(await readRawFacts(doc, firstPage));
    firstPage.cleanup();
    await emit({ type: "opened", pageCount: doc.numPages, pdfVersion: facts.pdfVersion });

    const renders = planPageRenders(doc.numPages, job);
    const textPages = Math.min(doc.numPages, job.maxTextPages);
    const text = await TextCollector.open(job.textPath, textPages < doc.numPages ? "page-limit" : null);
    try {
      const lastPage = Math.max(renders.length, textPages);
      for (let pageNumber = 1; pageNumber <= lastPage; pageNumber += 1) {
        const render = renders[pageNumber - 1];
        const readText = pageNumber <= textPages && !text.stopIfPast(job.textDeadlineAt);
        if (!render && !readText) break;
        await processPage(doc, pageNumber, render, readText ? text : undefined, emit);
        await emit({ type: "progress", percent: Math.round((90 * pageNumber) / lastPage), step: "pages" });
      }
    } finally {
      await text.close();
    }
    return { facts, text: text.stats() };
  } finally {
    await task.destroy();
  }
}

/** One page: rendered and/or read, then released (page.cleanup) so memory stays flat on long documents. */
async function processPage(
  doc: PDFDocumentProxy,
  pageNumber: number,
  render: PageRender | undefined,
  text: TextCollector | undefined,
  emit: Emit,
): Promise<void> {
  const page = await doc.getPage(pageNumber);
  try {
    if (render) {
      try {
        await emit({ type: "page", ...(await renderPage(page, render)) });
      } catch (error) {
        // Without page 1 there is no thumbnail: that fails the document; a later page is skipped.
        if (pageNumber === 1) throw error;
        await emit({ type: "page-failed", pageNumber, error: serializeError(error) });
      }
    }
    if (text) {
      let pageText: string | undefined;
      try {
        pageText = pageTextFromItems((await page.getTextContent()).items);
      } catch {
        // A damaged content stream loses this page's text, not the document's.
      }
      await (pageText === undefined ? text.addFailed(pageNumber) : text.add(pageText));
    }
  } finally {
    page.cleanup();
  }
}

async function renderPage(page: PDFPageProxy, render: PageRender): Promise<RenderedPage> {
  const natural = page.getViewport({ scale: 1 });
  const fitted = fitToWidth(natural.width, natural.height, render.widthPx);
  const canvas = createCanvas(fitted.widthPx, fitted.heightPx);
  try {
    // `background` paints white under the page, so transparent pages do not come out black.
    await page.render({
      canvas: canvas as unknown as RenderParameters["canvas"],
      viewport: page.getViewport({ scale: fitted.scale }),
      background: "#ffffff",
    }).promise;
    const pixels = canvas.getContext("2d").getImageData(0, 0, fitted.widthPx, fitted.heightPx).data;
    // A copy in a buffer of our own: the canvas memory is native and cannot cross IPC.
    return {
      pageNumber: render.pageNumber,
      widthPx: fitted.widthPx,
      heightPx: fitted.heightPx,
      rgba: new Uint8Array(pixels),
      thumb: render.thumb,
      preview: render.preview,
    };
  } finally {
    canvas.width = 0;
    canvas.height = 0;
  }
}

async function readRawFacts(doc: PDFDocumentProxy, firstPage: PDFPageProxy): Promise<RawPdfFacts> {
  const [{ info, metadata }, markInfo, hasJavaScript] = await Promise.all([
    doc.getMetadata(),
    doc.getMarkInfo().catch(() => null),
    doc.hasJSActions().catch(() => false),
  ]);
  const viewport = firstPage.getViewport({ scale: 1 });
  return {
    info: info as Record<string, unknown>,
    xmp: metadata ? Object.fromEntries(metadata as Iterable<[string, unknown]>) : {},
    pageCount: doc.numPages,
    firstPage: { widthPt: viewport.width, heightPt: viewport.height, rotation: firstPage.rotate },
    markInfo,
    hasJavaScript,
  };
}

/** Streams page text to the text file as it is read, keeping only the counts in memory. */
class TextCollector {
  private readonly file: FileHandle;
  private truncated: TextStats["truncated"];
  private pages = 0;
  private words = 0;
  private characters = 0;
  private readonly pageCharacters: number[] = [];
  private readonly failed: number[] = [];

  private constructor(file: FileHandle, truncated: TextStats["truncated"]) {
    this.file = file;
    this.truncated = truncated;
  }

  static async open(textPath: string, truncated: TextStats["truncated"]): Promise<TextCollector> {
    return new TextCollector(await open(textPath, "w"), truncated);
  }

  /** True (and the text marked truncated) once the deadline has passed. */
  stopIfPast(deadlineAt: number): boolean {
    if (Date.now() <= deadlineAt) return false;
    this.truncated = "time-budget";
    return true;
  }

  async add(pageText: string): Promise<void> {
    const characters = countCharacters(pageText);
    this.words += countWords(pageText);
    this.characters += characters;
    this.pageCharacters.push(characters);
    await this.write(pageText);
  }

  async addFailed(pageNumber: number): Promise<void> {
    this.failed.push(pageNumber);
    this.pageCharacters.push(0);
    await this.write("");
  }

  private async write(pageText: string): Promise<void> {
    const chunk = (this.pages > 0 ? PAGE_BREAK : "") + pageText;
    this.pages += 1;
    await this.file.write(chunk, null, "utf8");
  }

  async close(): Promise<void> {
    try {
      if (this.pages > 0) await this.file.write("\n", null, "utf8");
    } finally {
      await this.file.close();
    }
  }

  stats(): TextStats {
    return {
      pagesExtracted: this.pages,
      truncated: this.truncated,
      wordCount: this.words,
      characterCount: this.characters,
      pageCharacterCounts: [...this.pageCharacters],
      pagesFailed: [...this.failed],
    };
  }
}
