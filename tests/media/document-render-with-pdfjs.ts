import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createCanvas, DOMMatrix, Path2D } from "@napi-rs/canvas";

/**
 * Renders page 1 of a PDF with a pdf.js build given by path — used by the CVE-2024-4367 test to
 * run a *vulnerable* pdf.js (4.1.392) in a separate process when PDFJS_VULNERABLE_BUILD points
 * at one. Usage: node document-render-with-pdfjs.ts <pdf> <path/to/legacy/build/pdf.mjs> <eval:true|false>
 */

const [pdfPath, buildPath, evalFlag] = process.argv.slice(2);
if (!pdfPath || !buildPath) throw new Error("usage: <pdf> <pdf.mjs> <true|false>");
const globals = globalThis as Record<string, unknown>;
globals.Path2D ??= Path2D;
globals.DOMMatrix ??= DOMMatrix;

interface OldPdfjs {
  getDocument(params: Record<string, unknown>): { promise: Promise<{ getPage(n: number): Promise<OldPage> }> };
}
interface OldPage {
  getViewport(params: { scale: number }): { width: number; height: number };
  render(params: Record<string, unknown>): { promise: Promise<void> };
}

const pdfjs = (await import(pathToFileURL(buildPath).href)) as OldPdfjs;
const packageRoot = path.resolve(path.dirname(buildPath), "..", "..");
const doc = await pdfjs.getDocument({
  data: new Uint8Array(await readFile(pdfPath)),
  isEvalSupported: evalFlag === "true",
  disableFontFace: true,
  verbosity: 0,
  standardFontDataUrl: `${path.join(packageRoot, "standard_fonts")}/`,
}).promise;
const page = await doc.getPage(1);
const viewport = page.getViewport({ scale: 1 });
const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
// pdf.js 4 looks for the `canvas` package for its scratch canvases; hand it @napi-rs/canvas instead.
const canvasFactory = {
  create: (width: number, height: number) => {
    const scratch = createCanvas(width, height);
    return { canvas: scratch, context: scratch.getContext("2d") };
  },
  reset: (pair: { canvas: { width: number; height: number } }, width: number, height: number) => {
    pair.canvas.width = width;
    pair.canvas.height = height;
  },
  destroy: (pair: { canvas: { width: number; height: number } }) => {
    pair.canvas.width = 0;
    pair.canvas.height = 0;
  },
};
await page.render({ canvasContext: canvas.getContext("2d"), viewport, canvasFactory }).promise;
console.log("rendered");
