import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { documentInitParams, pdfjsAssetDirs } from "../../src/processors/document/pdfjs-options.ts";

describe("documentInitParams", () => {
  const assets = pdfjsAssetDirs("/app/node_modules/pdfjs-dist");
  const data = new Uint8Array([37, 80, 68, 70]);
  const params = documentInitParams(data, assets, 40_000_000);

  it("opens the bytes, never a URL", () => {
    assert.equal(params.data, data);
    assert.equal(params.url, undefined);
  });

  it("turns off every code path a hostile PDF has used: eval, font faces, system fonts, XFA", () => {
    assert.equal(params.isEvalSupported, false);
    assert.equal(params.disableFontFace, true);
    assert.equal(params.useSystemFonts, false);
    assert.equal(params.enableXfa, false);
    assert.equal(params.fontExtraProperties, false);
  });

  it("caps embedded image size and keeps going on damaged files", () => {
    assert.equal(params.maxImageSize, 40_000_000);
    assert.equal(params.stopAtErrors, false);
  });

  it("reads pdf.js's data from the package's own folders on disk, without fetch", () => {
    assert.equal(params.cMapUrl, `${path.join("/app/node_modules/pdfjs-dist", "cmaps")}/`);
    assert.equal(params.standardFontDataUrl, `${path.join("/app/node_modules/pdfjs-dist", "standard_fonts")}/`);
    assert.equal(params.wasmUrl, `${path.join("/app/node_modules/pdfjs-dist", "wasm")}/`);
    assert.equal(params.iccUrl, `${path.join("/app/node_modules/pdfjs-dist", "iccs")}/`);
    assert.equal(params.cMapPacked, true);
    assert.equal(params.useWorkerFetch, false);
  });
});
