import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { PDFArray, PDFDict, PDFDocument, PDFHexString, PDFName, PDFNumber } from "pdf-lib";
import sharp from "sharp";
import { createDocumentProcessor, type DocumentProcessor } from "../../src/processors/document.processor.ts";
import { childExecArgv } from "../../src/processors/document/document-child.pool.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";
import { fontMatrixInjectionPdf } from "./document-fixtures.ts";

/**
 * CVE-2024-4367: pdf.js ≤ 4.1.392 compiled each glyph of a font drawn as paths into JavaScript
 * source, `c.transform(<FontMatrix>)` included, and ran it with new Function. A /FontMatrix
 * ending in a string instead of a number injected code.
 *
 * What this file proves: (1) the payload in our fixture is live — put through that code
 * generator it runs and leaves a marker file; (2) the Node flags of our pdf.js process make the
 * very same generated code fail; (3) our real processor renders the PDF, glyphs drawn from the
 * malicious font, and the marker never appears.
 *
 * What it cannot prove on its own: that the payload would reach an eval in the pdf.js we ship.
 * pdfjs-dist 6 has no code generator left (its glyph compiler builds path arrays, its
 * `isEvalSupported` option is gone) and discards a FontMatrix that is not six numbers, so nothing
 * in it can run the payload. The last test runs the vulnerable pdfjs-dist 4.1.392 itself when
 * PDFJS_VULNERABLE_BUILD names its legacy/build/pdf.mjs (it is deliberately not a dependency):
 *   npm i --prefix /tmp/pdfjs-4 pdfjs-dist@4.1.392
 *   PDFJS_VULNERABLE_BUILD=/tmp/pdfjs-4/node_modules/pdfjs-dist/legacy/build/pdf.mjs node --test tests/media/document-font-injection.test.ts
 */

const execFileAsync = promisify(execFile);

let dir: string;
let marker: string;
let pdfPath: string;
let processor: DocumentProcessor;
/** The FontMatrix string: closes pdf.js's `c.transform(` call, writes the marker, comments out the rest of the line. */
let payload: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-doc-cve-"));
  marker = path.join(dir, "payload-ran");
  payload = `0); process.getBuiltinModule("fs").writeFileSync(${JSON.stringify(marker)}, "payload ran"); //`;
  pdfPath = path.join(dir, "fontmatrix.pdf");
  await writeFile(pdfPath, await fontMatrixInjectionPdf(payload));
  processor = createDocumentProcessor(testConfig());
});
after(async () => {
  await processor.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * The glyph source pdf.js ≤ 4.1.392 generated (FontFaceObject.getPathGenerator with
 * isEvalSupported): one `c.<cmd>(<args joined by ",">);` line per command, the font matrix
 * first. Here with the FontMatrix exactly as the fixture's font dictionary holds it.
 */
async function vulnerableGlyphSource(): Promise<string> {
  const doc = await PDFDocument.load(await readFile(pdfPath));
  const page = doc.getPage(0);
  const fonts = page.node.Resources()?.lookup(PDFName.of("Font"), PDFDict);
  const font = fonts?.lookup(PDFName.of("F1"), PDFDict);
  const matrix = font?.lookup(PDFName.of("FontMatrix"), PDFArray);
  assert.ok(matrix, "the fixture's font has a /FontMatrix");
  const args = matrix.asArray().map((entry) => {
    if (entry instanceof PDFNumber) return String(entry.asNumber());
    if (entry instanceof PDFHexString) return Buffer.from(entry.asBytes()).toString("latin1");
    throw new Error(`unexpected FontMatrix entry ${entry.toString()}`);
  });
  const commands = [
    ["save", ""],
    ["transform", args.join(",")],
    ["scale", "size,-size"],
    ["moveTo", "0,0"],
    ["restore", ""],
  ];
  return commands.map(([command, commandArgs]) => `c.${command}(${commandArgs});\n`).join("");
}

describe("CVE-2024-4367 FontMatrix injection", () => {
  it("the fixture's payload runs when put through the vulnerable pdf.js code generator", async () => {
    const source = await vulnerableGlyphSource();
    const noop = () => undefined;
    new Function("c", "size", source)({ save: noop, transform: noop, scale: noop, moveTo: noop, restore: noop }, 12);
    assert.ok(existsSync(marker), "the payload wrote its marker: it is observable when it runs");
    await rm(marker);
  });

  it("in a process with the pdf.js process's Node flags, the same generated code cannot run", async () => {
    const source = await vulnerableGlyphSource();
    const script = `try { new Function("c", "size", ${JSON.stringify(source)}); console.log("compiled"); } catch (error) { console.log(error.message); }`;
    const { stdout } = await execFileAsync(process.execPath, [...childExecArgv(256), "-e", script]);
    assert.match(stdout, /Code generation from strings disallowed/);
    assert.equal(existsSync(marker), false);
  });

  it("our processor renders the malicious font's glyphs and the payload never runs", async () => {
    const run = await processLocally(processor, pdfPath);
    try {
      assert.equal(existsSync(marker), false, "the payload did not run");
      // "AAAA" at 96 pt from (40, 100) on a 600×300 pt page: each A of the embedded font is a
      // filled box 80 % of the em wide. Dark inside the first box, white in the gap after it —
      // the glyphs came from the hostile font program through pdf.js's glyph compiler.
      const preview = run.files.get([...run.files.keys()].find((key) => key.endsWith("_page_1.webp"))!)!;
      const scale = (await sharp(preview).metadata()).width! / 600;
      const pixel = async (xPt: number, yPtFromTop: number) =>
        (
          await sharp(preview)
            .extract({ left: Math.round(xPt * scale), top: Math.round(yPtFromTop * scale), width: 1, height: 1 })
            .removeAlpha()
            .raw()
            .toBuffer()
        )[0]!;
      assert.ok((await pixel(88, 166)) < 60, "inside the first box is black");
      assert.ok((await pixel(136, 166)) > 200, "between the boxes is white");
      assert.equal(run.result.metadata.pageCount, 1);
    } finally {
      await run.cleanup();
    }
  });

  const vulnerableBuild = process.env.PDFJS_VULNERABLE_BUILD;
  it("on the vulnerable pdf.js 4.1.392: the payload runs with eval on, and neither isEvalSupported: false nor our Node flags let it", {
    skip: vulnerableBuild ? false : "set PDFJS_VULNERABLE_BUILD to pdfjs-dist@4.1.392's legacy/build/pdf.mjs to run",
  }, async () => {
    const render = async (evalOn: boolean, nodeFlags: string[] = []) => {
      await rm(marker, { force: true });
      const script = path.join(import.meta.dirname, "document-render-with-pdfjs.ts");
      const { stdout } = await execFileAsync(
        process.execPath,
        [...nodeFlags, script, pdfPath, vulnerableBuild!, String(evalOn)],
        { cwd: process.cwd() },
      );
      assert.match(stdout, /rendered/);
      return existsSync(marker);
    };
    assert.equal(await render(true), true, "isEvalSupported: true on 4.1.392 runs the payload");
    assert.equal(await render(false), false, "isEvalSupported: false stops it");
    assert.equal(await render(true, childExecArgv(256)), false, "our pdf.js process's flags stop it even with eval on");
    await rm(marker, { force: true });
  });
});
