import { createRequire } from "node:module";
import path from "node:path";
import type { ChildMessage, DocumentJob, ParentMessage } from "./child-protocol.ts";
import { analysePdf, type PdfjsModule } from "./pdf-analysis.ts";
import { serializeError } from "./pdf-errors.ts";
import { pdfjsAssetDirs } from "./pdfjs-options.ts";

/**
 * Entry point of the pdf.js child process, forked by document-child.pool.ts with
 * `--disallow-code-generation-from-strings` (eval and new Function throw: a pdf.js bug of the
 * CVE-2024-4367 kind has nothing to run code with) and a heap limit. pdf.js is imported once
 * per process (~0.2 s) and then serves one job after another.
 */

if (!process.send) {
  process.stderr.write("document.child.ts is started by the worker's document processor, not directly\n");
  process.exit(2);
}

// pdf.js gets the PDF as bytes and its data folders as paths; nothing here needs the network.
// A tripwire, so that a future pdf.js (or a bug) reaching for fetch fails loudly instead.
globalThis.fetch = () => Promise.reject(new Error("network access is disabled in the pdf.js process"));

const started = performance.now();
const pdfjs: PdfjsModule = await import("pdfjs-dist/legacy/build/pdf.mjs");
const assets = pdfjsAssetDirs(path.dirname(createRequire(import.meta.url).resolve("pdfjs-dist/package.json")));

// A damaged PDF can leave a rejected promise behind inside pdf.js; it must not end the process
// that is still serving the job (the worker's time budget bounds any job that then stalls).
process.on("unhandledRejection", (reason) => {
  process.stderr.write(`pdf.js process: unhandled rejection: ${String(reason)}\n`);
});
// The worker went away: nothing more will come.
process.on("disconnect", () => process.exit(0));
process.on("message", (message: ParentMessage) => {
  if (message.type === "run") void run(message.job);
});

await send({
  type: "ready",
  pdfjsVersion: pdfjs.version,
  codeGenerationFromStrings: codeGenerationAllowed(),
  importMs: Math.round(performance.now() - started),
});

async function run(job: DocumentJob): Promise<void> {
  try {
    const result = await analysePdf(pdfjs, assets, job, send);
    await send({ type: "done", ...result });
  } catch (error) {
    await send({ type: "failed", error: serializeError(error) });
  }
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    process.send!(message, undefined, {}, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

function codeGenerationAllowed(): boolean {
  try {
    return new Function("return true")() === true;
  } catch {
    return false;
  }
}
