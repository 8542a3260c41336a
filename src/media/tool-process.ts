import { MediaError } from "../errors.ts";
import {
  abortErrorOf,
  childEnvironment,
  killChild,
  spawnTool,
  TailBuffer,
  throwIfAbortedWithReason,
} from "./child-fence.ts";

// Owned by the fence; re-exported for the callers and tests that import them from here.
export { TailBuffer, throwIfAbortedWithReason } from "./child-fence.ts";

/**
 * Runs one media tool (ffmpeg, ffprobe) as a child process and owns its whole run: started through
 * the fence (child-fence.ts: argument array, allowlisted environment, own process group, killed
 * if the worker exits), its group killed on abort or timeout, a bounded tail of stderr kept for
 * error messages, stdout optionally collected. Tool-specific wrappers (ffmpeg.runner.ts,
 * ffprobe.ts) decide what a non-zero exit means.
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
 * Spawns the tool and resolves when it has exited (whatever the exit code). Rejects with a
 * MediaError when the signal aborts (the signal's own error), when the binary is missing
 * (`configuration`/`<tool>-missing`) or when stdout exceeds `collectStdoutBytes`.
 */
export function runTool(options: ToolRunOptions): Promise<ToolRunResult> {
  const { binary, args, signal } = options;
  if (signal) throwIfAbortedWithReason(signal);
  const toolName = binary.split("/").pop() ?? binary;
  const started = performance.now();

  return new Promise<ToolRunResult>((resolve, reject) => {
    const child = spawnTool(binary, args);
    const stderr = new TailBuffer(options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    let timedOut = false;
    let failure: MediaError | undefined;
    let settled = false;

    const kill = () => killChild(child);
    const onAbort = () => kill();
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, options.timeoutMs)
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });

    const finish = (action: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      action();
    };

    child.stdout.on("data", (chunk: Buffer) => {
      if (options.onStdoutBytes) {
        try {
          options.onStdoutBytes(chunk);
        } catch (error) {
          failure ??=
            error instanceof MediaError
              ? error
              : new MediaError(`${toolName} output could not be consumed: ${(error as Error).message}`, {
                  code: `${toolName}-output-rejected`,
                  category: "processing",
                  cause: error,
                });
          kill();
          return;
        }
      }
      if (options.onStdout) options.onStdout(chunk.toString("utf8"));
      const limit = options.collectStdoutBytes ?? 0;
      if (limit <= 0) return;
      stdoutBytes += chunk.length;
      if (stdoutBytes > limit) {
        failure ??= new MediaError(`${toolName} wrote more than ${limit} bytes of output`, {
          code: `${toolName}-output-too-large`,
          category: "processing",
        });
        kill();
        return;
      }
      stdoutChunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));

    child.on("error", (error: NodeJS.ErrnoException) => {
      finish(() => {
        if (error.code === "ENOENT") {
          reject(
            new MediaError(`${toolName} is not installed or not on PATH`, {
              code: `${toolName}-missing`,
              category: "configuration",
              cause: error,
            }),
          );
        } else {
          reject(
            new MediaError(`could not start ${toolName}: ${error.message}`, {
              code: `${toolName}-spawn-failed`,
              category: "resource",
              cause: error,
              retryable: true,
            }),
          );
        }
      });
    });

    // "close" (not "exit") so every stdout/stderr byte has been read when we decide.
    child.on("close", (exitCode, exitSignal) => {
      finish(() => {
        // Whatever was left in the group (a tool's own children) goes with it.
        kill();
        if (signal?.aborted) {
          reject(abortErrorOf(signal));
          return;
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

/**
 * The environment media tools run with: the fence's one allowlist (child-fence.ts), so AWS
 * credentials and other secrets of the worker never reach ffmpeg or soffice.
 */
export function toolEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return childEnvironment(source);
}
