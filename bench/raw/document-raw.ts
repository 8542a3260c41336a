/**
 * The raw side of the document benchmark, as its own process: pdf.js loaded once, then for each
 * PDF (at the worker's concurrency) the plain calls — open, render the first pages with
 * @napi-rs/canvas at the preview width, encode the thumbnail and previews to WebP with sharp,
 * read every page's text into a file. Same widths, quality and pdf.js options as the processor;
 * no child process, no IPC of pixels, no metadata, no upload, no Redis.
 *
 *   node bench/raw/document-raw.ts <request.json>   → prints one JSON line (RawRunResult)
 */
import { createRequire } from "node:module";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createCanvas } from "@napi-rs/canvas";
import sharp from "sharp";
import type { RenderParameters } from "pdfjs-dist/types/src/display/api.js";
import type { AppConfig } from "../../src/config/config.ts";
import { documentInitParams, pdfjsAssetDirs } from "../../src/processors/document/pdfjs-options.ts";
import { cpuSecondsNow, peakRssMiB, runPool, type RawRunResult } from "./raw-common.ts";

export interface DocumentRawRequest {
  files: string[];
  outDir: string;
  concurrency: number;
  document: AppConfig["document"];
  webpQuality: number;
}

const started = performance.now();
const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
const assets = pdfjsAssetDirs(path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json")));
const importMs = performance.now() - started;

async function webp(
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
  targetWidth: number,
  quality: number,
): Promise<Buffer> {
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .resize(targetWidth, targetWidth * 4, { fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .webp({ quality, effort: 4 })
    .toBuffer();
}

async function convert(file: string, outBase: string, request: DocumentRawRequest): Promise<void> {
  const settings = request.document;
  const task = pdfjs.getDocument(
    documentInitParams(new Uint8Array(await readFile(file)), assets, settings.maxImagePixels),
  );
  const doc = await task.promise;
  const encodes: Array<Promise<unknown>> = [];
  const texts: string[] = [];
  for (let pageNumber = 1; pageNumber <= doc.numPages; pageNumber += 1) {
    const page = await doc.getPage(pageNumber);
    if (pageNumber <= Math.max(1, settings.previewPages)) {
      const widthPx = Math.max(
        pageNumber === 1 ? settings.thumbWidthPx : 0,
        pageNumber <= settings.previewPages ? settings.previewWidthPx : 0,
      );
      const natural = page.getViewport({ scale: 1 });
      const scale = widthPx / natural.width;
      const viewport = page.getViewport({ scale });
      const canvas = createCanvas(Math.round(viewport.width), Math.round(viewport.height));
      await page.render({ canvas: canvas as unknown as RenderParameters["canvas"], viewport, background: "#ffffff" })
        .promise;
      const { data, width, height } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
      if (pageNumber === 1)
        encodes.push(
          webp(data, width, height, settings.thumbWidthPx, request.webpQuality).then((bytes) =>
            writeFile(`${outBase}_thumb.webp`, bytes),
          ),
        );
      if (pageNumber <= settings.previewPages)
        encodes.push(
          webp(data, width, height, settings.previewWidthPx, request.webpQuality).then((bytes) =>
            writeFile(`${outBase}_page_${pageNumber}.webp`, bytes),
          ),
        );
    }
    if (pageNumber <= settings.maxTextPages) {
      const content = await page.getTextContent();
      texts.push(content.items.map((item) => ("str" in item ? item.str + (item.hasEOL ? "\n" : "") : "")).join(""));
    }
    page.cleanup();
  }
  await Promise.all([...encodes, writeFile(`${outBase}_text.txt`, texts.join("\f"))]);
  await task.destroy();
}

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as DocumentRawRequest;
await mkdir(request.outDir, { recursive: true });
const cpuBefore = await cpuSecondsNow();
const workStarted = performance.now();
await runPool(request.files, request.concurrency, (file, index) =>
  convert(file, path.join(request.outDir, `${index}-${path.parse(file).name}`), request),
);
const wallMs = performance.now() - workStarted;
const result: RawRunResult = {
  wallMs,
  items: request.files.length,
  peakRssMiB: await peakRssMiB(),
  cpuSec: (await cpuSecondsNow()) - cpuBefore,
  detail: { pdfjsImportMs: Math.round(importMs) },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
