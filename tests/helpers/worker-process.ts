import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { killOnExit } from "../../src/dev/stop-on-exit.ts";

/** A real worker process (`node src/cli.ts worker`) for crash, signal and multi-process tests. */
export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = killOnExit(
    spawn(process.execPath, ["src/cli.ts", "worker"], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warn", ...env },
      stdio: ["ignore", "ignore", "inherit"],
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited };
}
