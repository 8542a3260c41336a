import { constants } from "node:fs";
import { access, copyFile, mkdir, open, readdir } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { processingError, resourceError } from "../../errors.ts";
import { runTool } from "../../media/tool-process.ts";

/**
 * Optional Office → PDF conversion with LibreOffice (DOCUMENT_ENABLE_LIBREOFFICE, off by
 * default). The command is built by a pure function; the run is checked by its output (a PDF
 * must exist and start with `%PDF-`), not by soffice's exit code.
 */

/**
 * The extension the input is given: LibreOffice takes it as a hint for its import filter. For
 * the formats detect-type cannot narrow down (an OpenDocument text or sheet, an OLE .doc or
 * .xls) a wrong hint is worse than none, and without one LibreOffice detects from the content.
 */
const EXTENSIONS: Record<string, string> = { docx: ".docx", xlsx: ".xlsx", pptx: ".pptx" };

export const officeExtension = (format: string): string => EXTENSIONS[format] ?? "";

/**
 * `soffice --convert-to pdf` with a private profile per job (two conversions sharing one profile
 * lock each other out), no restore/first-start dialogs, and the input as an absolute path in the
 * job's temp dir.
 */
export function sofficeArgs(inputPath: string, outDir: string, profileDir: string): string[] {
  return [
    `-env:UserInstallation=${pathToFileURL(profileDir).href}`,
    "--headless",
    "--invisible",
    "--nodefault",
    "--nofirststartwizard",
    "--nolockcheck",
    "--nologo",
    "--norestore",
    "--convert-to",
    "pdf",
    "--outdir",
    outDir,
    inputPath,
  ];
}

/** The first executable file called `name` in PATH's directories. */
export async function findExecutable(name: string, pathVariable = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const directory of pathVariable.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(directory, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; next directory.
    }
  }
  return undefined;
}

export interface ConvertOptions {
  soffice: string;
  inputPath: string;
  format: string;
  workDir: string;
  signal: AbortSignal;
  timeoutMs: number;
}

/** Converts to PDF and returns the PDF's path. */
export async function convertToPdf(options: ConvertOptions): Promise<string> {
  const base = path.join(options.workDir, "office");
  const outDir = path.join(base, "out");
  await mkdir(outDir, { recursive: true });
  const source = path.join(base, `document${officeExtension(options.format)}`);
  await copyFile(options.inputPath, source);
  const run = await runTool({
    binary: options.soffice,
    args: sofficeArgs(source, outDir, path.join(base, "profile")),
    signal: options.signal,
    timeoutMs: Math.max(1, options.timeoutMs),
  });
  if (run.timedOut)
    throw resourceError(
      "document-time-budget",
      "LibreOffice took longer than DOCUMENT_TIME_BUDGET to convert the document",
    );
  const pdfPath = path.join(outDir, "document.pdf");
  if (!(await startsWithPdfHeader(pdfPath))) {
    const produced = await readdir(outDir).catch(() => []);
    const detail = run.stderrTail.trim().split("\n").slice(-2).join(" | ").slice(0, 300);
    throw processingError(
      "document-conversion-failed",
      `LibreOffice did not convert the ${options.format} document to PDF (exit ${run.exitCode ?? run.exitSignal}; wrote ${produced.length} files)${detail ? `: ${detail}` : ""}`,
    );
  }
  return pdfPath;
}

async function startsWithPdfHeader(filePath: string): Promise<boolean> {
  try {
    const handle = await open(filePath, "r");
    try {
      const head = Buffer.alloc(5);
      const { bytesRead } = await handle.read(head, 0, 5, 0);
      return bytesRead === 5 && head.toString("latin1") === "%PDF-";
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
