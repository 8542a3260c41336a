import { spawn } from "node:child_process";
import { MediaError, throwIfAborted } from "../errors.ts";

/**
 * Runs one media tool (ffmpeg, ffprobe) as a child process and owns its whole life: spawn with an
 * argument array (never a shell), kill its process group on abort or timeout, keep a bounded tail
 * of stderr for error messages, and optionally collect stdout. Tool-specific wrappers
 * (ffmpeg.runner.ts, ffprobe.ts) decide what a non-zero exit means.
 */
export interface ToolRunOptions {
  /** Executable name on PATH or absolute path. */
  binary: string;
  args: readonly string[];
  /** Aborting kills the process group with SIGKILL; the run then throws the signal's MediaError. */
  signal?: AbortSignal | undefined;
  /** Kills the process group after this many milliseconds; 0 or undefined = no own limit. */
  timeoutMs?: number | undefined;
  /** Called with every stdout chunk (ffmpeg's `-progress pipe:1`). */
  onStdout?: ((chunk: string) => void) | undefined;
  /**
   * Called with every stdout chunk as raw bytes, for binary output (PCM on `pipe:1`). Called
   * synchronously from the pipe's data event, so a callback that consumes the chunk before
   * returning keeps memory at one chunk; if it throws, the process is killed and the run rejects.
   */
  onStdoutBytes?: ((chunk: Buffer) => void) | undefined;
  /** Collect stdout up to this many bytes (ffprobe's JSON); beyond it the run fails. 0 = do not keep. */
  collectStdoutBytes?: number | undefined;
  /** Bytes of stderr kept for the error message. Default 8 KiB. */
  stderrTailBytes?: number | undefined;
}

export interface ToolRunResult {
  exitCode: number | null;
  /** The signal the process died of, when it did not exit by itself. */
  exitSignal: NodeJS.Signals | null;
  stdout: string;
  stderrTail: string;
  elapsedMs: number;
  /** True when our own timeout killed the process. */
  timedOut: boolean;
}

const DEFAULT_STDERR_TAIL_BYTES = 8 * 1024;

/**
 * Process groups we started and have not seen exit. `detached: true` puts each tool in its own
 * group so a kill reaches any children it forks; the flip side is that the group would outlive a
 * crashing worker, so the groups are killed when this process exits.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveGroups) killGroup(pid);
  });
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Keeps the last `limit` bytes of a stream without holding the whole of it. */
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

/**
 * Spawns the tool and resolves when it has exited (whatever the exit code). Rejects with a
 * MediaError when the signal aborts (the signal's own error), when the binary is missing
 * (`configuration`/`<tool>-missing`) or when stdout exceeds `collectStdoutBytes`.
 */
export function runTool(options: ToolRunOptions): Promise<ToolRunResult> {
  const { binary, args, signal } = options;
  if (signal) throwIfAbortedWithReason(signal);
  const toolName = binary.split("/").pop() ?? binary;
  const started = performance.now();
  installExitHook();

  return new Promise<ToolRunResult>((resolve, reject) => {
    const child = spawn(binary, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], windowsHide: true, env: toolEnvironment() });
    const stderr = new TailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let timedOut = false;
    let failure: MediaError | undefined;
    let settled = false;

    const kill = () => {
      if (child.pid !== undefined) killGroup(child.pid);
    };
    const onAbort = () => kill();
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs)
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });
    if (child.pid !== undefined) liveGroups.add(child.pid);

    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      action();
    };

    child.stdout.on("data", (chunk: Buffer) => {
      if (options.onStdoutBytes) {
        try {
          options.onStdoutBytes(chunk);
        } catch (error) {
          failure ??= error instanceof MediaError ? error : new MediaError(`${toolName} output could not be consumed: ${(error as Error).message}`, { code: `${toolName}-output-rejected`, category: "processing", cause: error });
          kill();
          return;
        }
      }
      if (options.onStdout) options.onStdout(chunk.toString("utf8"));
      const limit = options.collectStdoutBytes ?? 0;
      if (limit <= 0) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > limit) {
        failure ??= new MediaError(`${toolName} wrote more than ${limit} bytes of output`, { code: `${toolName}-output-too-large`, category: "processing" });
        kill();
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(() => {
        if (error.code === "ENOENT") {
          reject(new MediaError(`${toolName} is not installed or not on PATH`, { code: `${toolName}-missing`, category: "configuration", cause: error }));
        } else {
          reject(new MediaError(`could not start ${toolName}: ${error.message}`, { code: `${toolName}-spawn-failed`, category: "resource", cause: error, retryable: true }));
        }
      });
    });

    // "close" (not "exit") so every stdout/stderr byte has been read when we decide.
    child.on("close", (exitCode, exitSignal) => {
      finish(() => {
        // Whatever was left in the group (a tool's own children) goes with it.
        kill();
        if (signal?.aborted) {
          try {
            throwIfAbortedWithReason(signal);
          } catch (error) {
            reject(error);
            return;
          }
        }
        if (failure) {
          reject(failure);
          return;
        }
        resolve({
          exitCode,
          exitSignal,
          stdout: Buffer.concat(stdoutChunks).toString("utf8"),
          stderrTail: stderr.toString(),
          elapsedMs: Math.round(performance.now() - started),
          timedOut,
        });
      });
    });
  });
}

/** Like throwIfAborted, but a MediaError placed on the signal as its reason is thrown as is. */
export function throwIfAbortedWithReason(signal: AbortSignal): void {
  if (signal.aborted && signal.reason instanceof MediaError) throw signal.reason;
  throwIfAborted(signal);
}

/**
 * The environment media tools run with: enough to find binaries, fonts and a temp dir, and
 * nothing else — AWS credentials and other secrets of the worker never reach ffmpeg or soffice.
 */
const TOOL_ENV_KEYS = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "MALLOC_ARENA_MAX", "XDG_CACHE_HOME", "FONTCONFIG_PATH", "FONTCONFIG_FILE"];

export function toolEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of TOOL_ENV_KEYS) if (source[key] !== undefined) env[key] = source[key];
  return env;
}
