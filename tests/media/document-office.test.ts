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
 * DOCUMENT_ENABLE_LIBREOFFICE is on and soffice is on PATH. scripts/setup-test-tools.sh (run by
 * scripts/test.sh and CI) installs LibreOffice's headless Writer, Calc and Impress, so the
 * conversion tests run everywhere; without soffice they fail and say how to install it.
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
  const head = Buffer.concat([
    Buffer.from([0x50, 0x4b, 0x03, 0x04]),
    Buffer.alloc(26),
    Buffer.from("[Content_Types].xml word/document.xml", "latin1"),
  ]);
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
    for (const format of ["pdf", "docx", "xlsx", "pptx", "odf", "ole", "ooxml"])
      assert.ok(processor.accepts({ kind: "document", format, mime: "x" }), format);
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

  describe("with conversion enabled and LibreOffice installed", () => {
    let soffice: string;
    before(async () => {
      const found = await findExecutable("soffice");
      assert.ok(
        found,
        "LibreOffice (soffice) is not on PATH: run `bash scripts/setup-test-tools.sh` (Debian: libreoffice-writer-nogui, -calc-nogui, -impress-nogui)",
      );
      soffice = found;
    });

    /** A real Office file, written by LibreOffice itself from a source it imports natively. */
    async function officeFile(source: string, contents: string, filter: string, extension: string): Promise<string> {
      await writeFile(path.join(dir, source), contents);
      await execFileAsync(
        soffice,
        [
          `-env:UserInstallation=file://${path.join(dir, `profile-${extension}`)}`,
          "--headless",
          "--convert-to",
          filter,
          "--outdir",
          dir,
          path.join(dir, source),
        ],
        { timeout: 120_000 },
      );
      return path.join(dir, source.replace(/\.\w+$/, `.${extension}`));
    }

    async function convertedRun(file: string, format: string, texts: RegExp[]): Promise<void> {
      const run = await processLocally(processorWith({ DOCUMENT_ENABLE_LIBREOFFICE: "true" }), file);
      try {
        assert.equal(run.result.metadata.convertedFrom, format);
        assert.deepEqual(run.steps.map((step) => step.event).slice(0, 2), [
          "document-converting",
          "document-converted",
        ]);
        const textKey = [...run.files.keys()].find((key) => key.endsWith("_text.txt"))!;
        const text = await readFile(run.files.get(textKey)!, "utf8");
        for (const expected of texts) assert.match(text, expected);
        const thumbKey = [...run.files.keys()].find((key) => key.endsWith("_thumb.webp"))!;
        assert.equal((await sharp(run.files.get(thumbKey)!).metadata()).width, 300);
      } finally {
        await run.cleanup();
      }
    }

    it("a .docx becomes previews and text", async () => {
      const docx = await officeFile(
        "memo.html",
        "<html><body><h1>Hello from Writer</h1><p>Converted by LibreOffice for the document test.</p></body></html>",
        "docx:MS Word 2007 XML",
        "docx",
      );
      assert.equal(detectFromBytes(await readFile(docx)).format, "docx");
      await convertedRun(docx, "docx", [/Hello from Writer/, /Converted by LibreOffice for the document test\./]);
    });

    it("an .xlsx becomes previews and text", async () => {
      const xlsx = await officeFile(
        "sales.csv",
        "region,units\nnorth,1200\nsouth,3400\n",
        "xlsx:Calc MS Excel 2007 XML",
        "xlsx",
      );
      assert.equal(detectFromBytes(await readFile(xlsx)).format, "xlsx");
      await convertedRun(xlsx, "xlsx", [/north/, /3400/]);
    });

    it("a .pptx becomes previews and text", async () => {
      const pptx = await officeFile("deck.fodp", FLAT_PRESENTATION, "pptx:Impress MS PowerPoint 2007 XML", "pptx");
      assert.equal(detectFromBytes(await readFile(pptx)).format, "pptx");
      await convertedRun(pptx, "pptx", [/Quarterly slides from Impress/]);
    });
  });
});

/** A one-slide OpenDocument presentation in its flat XML form, which Impress opens directly. */
const FLAT_PRESENTATION = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.presentation">
 <office:body><office:presentation>
  <draw:page draw:name="one"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>Quarterly slides from Impress</text:p></draw:text-box></draw:frame></draw:page>
 </office:presentation></office:body>
</office:document>
`;
