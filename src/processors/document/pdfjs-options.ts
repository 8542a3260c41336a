import path from "node:path";
import type { DocumentInitParameters } from "pdfjs-dist/types/src/display/api.js";

/**
 * The getDocument parameters every PDF is opened with. Pure, so a unit test pins each safety
 * flag; the pdf.js process is the only caller.
 */

/** pdf.js's own data folders on disk, each with a trailing slash (pdf.js appends file names). */
export interface PdfjsAssetDirs {
  cMapDir: string;
  standardFontDir: string;
  wasmDir: string;
  iccDir: string;
}

export function pdfjsAssetDirs(packageRoot: string): PdfjsAssetDirs {
  const dir = (name: string) => `${path.join(packageRoot, name)}${path.sep}`;
  return { cMapDir: dir("cmaps"), standardFontDir: dir("standard_fonts"), wasmDir: dir("wasm"), iccDir: dir("iccs") };
}

/**
 * pdf.js 6 has no `isEvalSupported` (its glyph and function compilers no longer generate code),
 * so the type lacks it; it is still passed, because on a pdf.js ≤ 4.1.392 it is what stops
 * CVE-2024-4367 (a FontMatrix string compiled into a glyph function and run).
 */
export type HardenedDocumentParams = DocumentInitParameters & { isEvalSupported: false };

export function documentInitParams(
  data: Uint8Array,
  assets: PdfjsAssetDirs,
  maxImagePixels: number,
): HardenedDocumentParams {
  return {
    // The bytes, never a URL: pdf.js opens no connection and reads no file of the document's choosing.
    data,
    isEvalSupported: false,
    // Glyphs are drawn as paths; no @font-face rule or FontFace is ever built from PDF font data.
    disableFontFace: true,
    fontExtraProperties: false,
    // Only the fonts shipped in pdfjs-dist/standard_fonts, never the host's.
    useSystemFonts: false,
    // XFA forms are an XML/HTML layer with its own parser and scripting; the page content suffices.
    enableXfa: false,
    // Embedded images declaring more pixels are skipped (an image bomb costs seconds and gigabytes).
    maxImageSize: maxImagePixels,
    // Recover what can be recovered from a damaged file rather than give up at the first error.
    stopAtErrors: false,
    // CMaps, standard fonts, wasm decoders and ICC profiles come from pdfjs-dist's folders,
    // read with fs by Node's binary-data factory; `useWorkerFetch: false` keeps fetch() out of it.
    cMapUrl: assets.cMapDir,
    cMapPacked: true,
    standardFontDataUrl: assets.standardFontDir,
    wasmUrl: assets.wasmDir,
    iccUrl: assets.iccDir,
    useWorkerFetch: false,
    isOffscreenCanvasSupported: false,
    isImageDecoderSupported: false,
    enableHWA: false,
    pdfBug: false,
    // Errors only: pdf.js warnings about damaged files would flood the worker's logs.
    verbosity: 0,
  };
}
