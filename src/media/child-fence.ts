import { fork, spawn, type ChildProcess, type ChildProcessByStdio, type StdioOptions } from "node:child_process";
import type { Readable } from "node:stream";
import { abortError, abortReasonOf, MediaError } from "../errors.ts";

/**
 * The one fence around every child process the worker starts: media tools (ffmpeg, ffprobe,
 * heif-convert, soffice, ssimulacra2 through tool-process.ts) and the pdf.js process
 * (document-child.pool.ts). It owns the four rules they all share, so no caller can get one wrong:
 *
 * 1. a child sees only the variables in {@link CHILD_ENV_KEYS}, never our credentials;
 * 2. every live child is in one registry, and the registry is killed when this process exits;
 * 3. a tool runs in its own process group, so a kill reaches the children it forks;
 * 4. an aborted signal becomes one MediaError ({@link abortErrorOf}), whoever notices it.
 *
 * Developer tools started by src/dev (redis-server, sample generation) are not behind it: they are
 * not workers' children and have their own stop-on-exit rules.
 */

/**
 * Everything a child may see of our environment: enough to find binaries, fonts, a home and a
 * temp dir. AWS credentials, Redis URLs (with their passwords), API tokens and every other secret
 * of the worker never reach ffmpeg, soffice or pdf.js — a tool exploited by a hostile upload
 * finds nothing to steal in its environment.
 */
export const CHILD_ENV_KEYS: readonly string[] = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "MALLOC_ARENA_MAX",
  "XDG_CACHE_HOME",
  "FONTCONFIG_PATH",
  "FONTCONFIG_FILE",
];

/**
 * The environment of a child: the allowlisted variables of `source`, over `defaults` for those it
 * lacks (a default also replaces an empty value). Defaults may only name allowlisted variables.
 */
export function childEnvironment(
  source: NodeJS.ProcessEnv = process.env,
  defaults: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of CHILD_ENV_KEYS) {
    const value = source[key];
    const fallback = defaults[key];
    if (fallback !== undefined && !value) env[key] = fallback;
    else if (value !== undefined) env[key] = value;
  }
  return env;
}

/** How a child is killed: its whole process group (tools) or the process alone (the forked pdf.js child, which shares ours). */
type KillScope = "group" | "process";

const scopes = new WeakMap<ChildProcess, KillScope>();
/** Children we started and have not seen end; killed when this process exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // "exit" handlers must be synchronous; process.kill is.
  process.on("exit", () => {
    for (const child of live) killChild(child);
  });
}

function register(child: ChildProcess, scope: KillScope, endEvent: "close" | "exit"): void {
  scopes.set(child, scope);
  if (child.pid === undefined) return; // never started; its "error" event says why
  live.add(child);
  child.once(endEvent, () => live.delete(child));
  child.once("error", () => live.delete(child));
}

/** Children started through the fence that have not ended yet (for tests and diagnostics). */
export function liveChildCount(): number {
  return live.size;
}

/** SIGKILLs a process group by its leader's pid; a group already gone is not an error. */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * SIGKILLs a fenced child: a tool's whole process group (also after the tool itself has exited,
 * so whatever it left behind goes with it), or the forked process alone.
 */
export function killChild(child: ChildProcess): void {
  if (scopes.get(child) === "group") {
    if (child.pid !== undefined) killProcessGroup(child.pid);
    return;
  }
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

/**
 * Starts a media tool: an argument array (never a shell), no stdin, stdout and stderr piped, the
 * allowlisted environment, and its own process group (`detached`) so {@link killChild} reaches
 * its children. The group would outlive a crashing worker, which is why it is registered until
 * its pipes close.
 */
export function spawnTool(binary: string, args: readonly string[]): ChildProcessByStdio<null, Readable, Readable> {
  installExitHook();
  const child = spawn(binary, args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
    env: childEnvironment(),
  });
  register(child, "group", "close");
  return child;
}

export interface ForkOptions {
  /** Node flags of the child (heap limit, code-generation refusal). */
  execArgv: readonly string[];
  serialization?: "json" | "advanced";
  stdio: StdioOptions;
  /** Values for allowlisted variables the parent lacks (see {@link childEnvironment}). */
  envDefaults?: Readonly<Record<string, string>>;
}

/**
 * Forks a Node child (the pdf.js process) with the allowlisted environment. It stays in our
 * process group — it has no children of its own, and ends by itself when the IPC channel closes.
 */
export function forkChild(entry: string, options: ForkOptions): ChildProcess {
  installExitHook();
  const child = fork(entry, [], {
    execArgv: [...options.execArgv],
    ...(options.serialization ? { serialization: options.serialization } : {}),
    stdio: options.stdio,
    env: childEnvironment(process.env, options.envDefaults),
  });
  register(child, "process", "exit");
  return child;
}

/**
 * The MediaError an aborted signal stands for: a MediaError placed on the signal as its reason is
 * that error itself; the pipeline's reasons ("cancelled", "timeout", "shutdown",
 * "visibility-limit") map through abortError; anything else counts as a cancellation.
 */
export function abortErrorOf(signal: AbortSignal): MediaError {
  if (signal.reason instanceof MediaError) return signal.reason;
  return abortError(abortReasonOf(signal) ?? "cancelled");
}

/** Throws {@link abortErrorOf} when the signal has fired. */
export function throwIfAbortedWithReason(signal: AbortSignal): void {
  if (signal.aborted) throw abortErrorOf(signal);
}

/** Keeps the last `limit` bytes of a stream (a child's stderr) without holding the whole of it. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  toString(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString("utf8");
  }
}
