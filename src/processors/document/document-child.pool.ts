import type { ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { abortErrorOf, forkChild, killChild, TailBuffer, throwIfAbortedWithReason } from "../../media/child-fence.ts";
import { MediaError } from "../../errors.ts";
import type { ChildEvent, ChildMessage, ChildReady, DocumentJob } from "./child-protocol.ts";
import type { DocumentFacts } from "./pdf-metadata.ts";
import { childExitError, documentError, timeBudgetError } from "./pdf-errors.ts";
import type { TextStats } from "./text-stats.ts";

/**
 * Runs pdf.js in child processes, one job at a time each, reused across jobs so pdf.js is
 * imported once per process rather than once per job.
 *
 * Why a process and not the worker's own thread or a worker_thread (measured on a 2-core machine):
 * a 200 KB PDF whose content stream inflates to 200 MB of one unterminated string drives pdf.js
 * to 3 GB in 12 s. In the worker's process that takes every other job
 * down with it; in a worker_thread with `resourceLimits` it still aborts the whole process
 * ("Reached heap limit", nodejs/node#47224). A child process with `--max-old-space-size` dies
 * alone, and SIGKILL stops it at once even inside one long synchronous pdf.js call, which is
 * what makes the time budget and cancellation real.
 */

export interface DocumentChildPoolOptions {
  /** V8 heap limit of each child (DOCUMENT_MAX_HEAP_MB). */
  heapMb: number;
  /** Idle children kept warm for the next job (usually the worker's concurrency). */
  maxIdle?: number;
  /** A child serves this many jobs and is then replaced, so caches and fragmentation cannot grow forever. */
  maxJobsPerChild?: number;
  /** An idle child exits after this long without work. */
  idleTimeoutMs?: number;
}

export interface DocumentChildResult {
  facts: DocumentFacts;
  text: TextStats;
  pdfjsVersion: string;
}

export interface DocumentRunOptions {
  signal: AbortSignal;
  /** Wall-clock limit for this job including the child's start; the child is killed at it. */
  timeoutMs: number;
  /** Budget reported in the error message (the whole document's, of which timeoutMs is what is left). */
  budgetMs: number;
  onEvent(event: ChildEvent): void;
}

interface ChildHandle {
  process: ChildProcess;
  ready: Promise<ChildReady>;
  stderr: TailBuffer;
  /** Set once the child said it is ready. */
  info?: ChildReady;
  jobs: number;
  exited: boolean;
  idleTimer?: NodeJS.Timeout;
}

const DEFAULT_MAX_JOBS_PER_CHILD = 100;
const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

const sourceExtension = path.extname(fileURLToPath(import.meta.url));
const CHILD_ENTRY = fileURLToPath(new URL(`./document.child${sourceExtension}`, import.meta.url));

/**
 * Node flags of the pdf.js process. `--disallow-code-generation-from-strings` makes eval and
 * new Function throw, so a pdf.js bug of the CVE-2024-4367 kind (a PDF string compiled into a
 * glyph function) has nothing to run code with; WebAssembly (pdf.js's image decoders) still works.
 */
export function childExecArgv(heapMb: number): string[] {
  return ["--disallow-code-generation-from-strings", `--max-old-space-size=${heapMb}`];
}

export class DocumentChildPool {
  private readonly options: Required<DocumentChildPoolOptions>;
  private readonly idle: ChildHandle[] = [];
  private closed = false;
  /** Children started so far (tests read it to see reuse). */
  spawned = 0;

  constructor(options: DocumentChildPoolOptions) {
    this.options = {
      maxIdle: 2,
      maxJobsPerChild: DEFAULT_MAX_JOBS_PER_CHILD,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      ...options,
    };
  }

  /** Runs one document in a child; rejects with a MediaError (never a raw pdf.js error). */
  async run(job: DocumentJob, options: DocumentRunOptions): Promise<DocumentChildResult> {
    throwIfAbortedWithReason(options.signal);
    if (this.closed)
      throw new MediaError("the document processor is shut down", { code: "shutdown", category: "transient" });
    const child = this.acquire();
    return new Promise<DocumentChildResult>((resolve, reject) => {
      let settled = false;
      const finish = (keepChild: boolean, outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal.removeEventListener("abort", onAbort);
        child.process.off("message", onMessage);
        child.process.off("exit", onExit);
        if (keepChild) this.release(child);
        else this.kill(child);
        outcome();
      };
      const timer = setTimeout(
        () => finish(false, () => reject(timeBudgetError(options.budgetMs))),
        Math.max(0, options.timeoutMs),
      );
      const onAbort = () => finish(false, () => reject(abortErrorOf(options.signal)));
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(false, () => reject(childExitError({ code, signal, stderrTail: child.stderr.toString() })));
      const onMessage = (message: ChildMessage) => {
        if (message.type === "ready") return;
        if (message.type === "done") {
          finish(true, () =>
            resolve({ facts: message.facts, text: message.text, pdfjsVersion: child.info?.pdfjsVersion ?? "unknown" }),
          );
          return;
        }
        if (message.type === "failed") {
          finish(true, () => reject(documentError(message.error)));
          return;
        }
        try {
          options.onEvent(message);
        } catch (error) {
          finish(false, () => reject(error));
        }
      };
      options.signal.addEventListener("abort", onAbort, { once: true });
      child.process.on("message", onMessage);
      child.process.once("exit", onExit);
      child.ready.then(
        () => {
          if (settled) return;
          child.process.send({ type: "run", job }, (error: Error | null) => {
            if (error)
              finish(false, () =>
                reject(
                  new MediaError(`could not hand the document to the pdf.js process: ${error.message}`, {
                    code: "document-process-crashed",
                    category: "resource",
                    cause: error,
                  }),
                ),
              );
          });
        },
        (error: unknown) => finish(false, () => reject(error)),
      );
    });
  }

  /** Kills idle children now and busy ones when their job ends. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.idle.splice(0)) this.kill(child);
  }

  private acquire(): ChildHandle {
    let child = this.idle.pop();
    // A child that died while idle has been dropped on its exit event; this catches the moment between.
    while (child?.exited) child = this.idle.pop();
    child ??= this.spawn();
    if (child.idleTimer) clearTimeout(child.idleTimer);
    setReferenced(child.process, true);
    return child;
  }

  private release(child: ChildHandle): void {
    child.jobs += 1;
    if (
      this.closed ||
      child.exited ||
      child.jobs >= this.options.maxJobsPerChild ||
      this.idle.length >= this.options.maxIdle
    ) {
      this.kill(child);
      return;
    }
    // An idle child must not keep the worker (or a test) alive.
    setReferenced(child.process, false);
    child.idleTimer = setTimeout(() => {
      const index = this.idle.indexOf(child);
      if (index >= 0) this.idle.splice(index, 1);
      this.kill(child);
    }, this.options.idleTimeoutMs);
    child.idleTimer.unref();
    this.idle.push(child);
  }

  private spawn(): ChildHandle {
    this.spawned += 1;
    // The fence gives the child the one environment allowlist and kills it if the worker exits
    // without closing the pool.
    const child = forkChild(CHILD_ENTRY, {
      execArgv: childExecArgv(this.options.heapMb),
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      // HOME: @napi-rs/canvas calls os.homedir() on load, which throws for a UID with no passwd
      // entry (OpenShift's random UIDs, runAsUser overrides) unless HOME is set.
      envDefaults: { MALLOC_ARENA_MAX: "2", HOME: os.tmpdir() },
    });
    const stderr = new TailBuffer(8 * 1024);
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    const ready = new Promise<ChildReady>((resolve, reject) => {
      const onMessage = (message: ChildMessage) => {
        if (message.type !== "ready") return;
        child.off("message", onMessage);
        // The child must refuse eval; if a Node change ever dropped the flag, stop rather than run unprotected.
        if (message.codeGenerationFromStrings) {
          reject(
            new MediaError("the pdf.js process allows code generation from strings", {
              code: "document-unsafe-runtime",
              category: "configuration",
            }),
          );
          return;
        }
        handle.info = message;
        resolve(message);
      };
      child.on("message", onMessage);
      child.once("exit", (code, signal) => reject(childExitError({ code, signal, stderrTail: stderr.toString() })));
      child.on("error", (error) =>
        reject(
          new MediaError(`could not start the pdf.js process: ${error.message}`, {
            code: "document-process-spawn-failed",
            category: "resource",
            retryable: true,
            cause: error,
          }),
        ),
      );
    });
    const handle: ChildHandle = { process: child, ready, stderr, jobs: 0, exited: false };
    // A rejection nobody awaits yet (an idle child that died) is not an unhandled one.
    ready.catch(() => undefined);
    child.once("exit", () => {
      handle.exited = true;
      const index = this.idle.indexOf(handle);
      if (index >= 0) this.idle.splice(index, 1);
      if (handle.idleTimer) clearTimeout(handle.idleTimer);
    });
    return handle;
  }

  private kill(child: ChildHandle): void {
    if (child.idleTimer) clearTimeout(child.idleTimer);
    if (!child.exited) killChild(child.process);
    // The exit event may come later; until then the handle must not keep the worker alive.
    setReferenced(child.process, false);
  }
}

/** The process, its IPC channel and its stderr pipe are three handles of the event loop. */
function setReferenced(child: ChildProcess, referenced: boolean): void {
  const stderr = child.stderr as (NodeJS.ReadableStream & { ref?: () => void; unref?: () => void }) | null;
  if (referenced) {
    child.ref();
    child.channel?.ref();
    stderr?.ref?.();
  } else {
    child.unref();
    child.channel?.unref();
    stderr?.unref?.();
  }
}
