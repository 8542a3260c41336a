import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import sharp from "sharp";
import { MediaError } from "../../src/errors.ts";
import { detectFromBytes } from "../../src/media/detect-type.ts";
import { createDocumentProcessor, type DocumentProcessor } from "../../src/processors/document.processor.ts";
import { findExecutable } from "../../src/processors/document/libreoffice.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";

/**
 * Office documents: refused as unsupported by default; converted with LibreOffice only when
 * DOCUMENT_ENABLE_LIBREOFFICE is on and soffice is on PATH. The conversion test runs where
 * LibreOffice is installed (apt install libreoffice-writer-nogui) and is skipped elsewhere.
 */

const execFileAsync = promisify(execFile);
let dir: string;
let docxLike: string;
const processors: DocumentProcessor[] = [];
const processorWith = (env: Record<string, string> = {}) => {
  const processor = createDocumentProcessor(testConfig(env));
  processors.push(processor);
  return processor;
};

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-doc-office-"));
  // The head of a .docx as detect-type sees it: a ZIP local header naming word/ entries.
  const head = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(26), Buffer.from("[Content_Types].xml word/document.xml", "latin1")]);
  assert.equal(detectFromBytes(head).format, "docx");
  docxLike = path.join(dir, "letter.docx");
  await writeFile(docxLike, head);
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

describe("office documents", () => {
  it("the document processor accepts every document kind and nothing else", () => {
    const processor = processorWith();
    for (const format of ["pdf", "docx", "xlsx", "pptx", "odf", "ole", "ooxml"]) assert.ok(processor.accepts({ kind: "document", format, mime: "x" }), format);
    assert.equal(processor.accepts({ kind: "image", format: "png", mime: "image/png" }), false);
  });

  it("are unsupported by default: a clean processing failure, not retried", async () => {
    const error = await failure(processLocally(processorWith(), docxLike));
    assert.deepEqual([error.category, error.code, error.retryable], ["processing", "unsupported-type", false]);
    assert.match(error.message, /DOCUMENT_ENABLE_LIBREOFFICE/);
  });

  it("with conversion enabled but no soffice on PATH, still fail as unsupported and say why", async () => {
    const emptyBin = await mkdtemp(path.join(dir, "bin-"));
    const savedPath = process.env.PATH;
    process.env.PATH = emptyBin;
    try {
      const error = await failure(processLocally(processorWith({ DOCUMENT_ENABLE_LIBREOFFICE: "true" }), docxLike));
      assert.deepEqual([error.category, error.code], ["processing", "unsupported-type"]);
      assert.match(error.message, /soffice is not on PATH/);
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it("with conversion enabled and LibreOffice installed, a .docx becomes previews and text", async (t) => {
    const soffice = await findExecutable("soffice");
    if (!soffice) {
      t.skip("LibreOffice (soffice) is not installed here");
      return;
    }
    // A real .docx, written by LibreOffice itself from HTML.
    const html = path.join(dir, "memo.html");
    await writeFile(html, "<html><body><h1>Hello from Writer</h1><p>Converted by LibreOffice for the document test.</p></body></html>");
    await execFileAsync(soffice, [`-env:UserInstallation=file://${path.join(dir, "profile")}`, "--headless", "--convert-to", "docx:MS Word 2007 XML", "--outdir", dir, html], { timeout: 60_000 });
    const run = await processLocally(processorWith({ DOCUMENT_ENABLE_LIBREOFFICE: "true" }), path.join(dir, "memo.docx"));
    try {
      assert.equal(run.result.metadata.convertedFrom, "docx");
      assert.deepEqual(run.steps.map((step) => step.event).slice(0, 2), ["document-converting", "document-converted"]);
      const textKey = [...run.files.keys()].find((key) => key.endsWith("_text.txt"))!;
      const text = await readFile(run.files.get(textKey)!, "utf8");
      assert.match(text, /Hello from Writer/);
      assert.match(text, /Converted by LibreOffice for the document test\./);
      const thumbKey = [...run.files.keys()].find((key) => key.endsWith("_thumb.webp"))!;
      assert.equal((await sharp(run.files.get(thumbKey)!).metadata()).width, 300);
    } finally {
      await run.cleanup();
    }
  });
});
