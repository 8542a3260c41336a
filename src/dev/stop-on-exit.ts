import type { ChildProcess } from "node:child_process";

/**
 * Children never outlive their parent. The demo, dev mode, the benchmark and the test helpers
 * start things (a redis-server child, the emulator, worker processes, and under those ffmpeg)
 * that must go when the command is interrupted (SIGINT, SIGTERM) or dies of an error, not only
 * when it ends normally:
 * - `stopOnExit(name, stop)`: on SIGINT/SIGTERM every registered stop runs, newest first (so
 *   workers stop before the Redis they use), then the process exits 128+signal. Unregister when
 *   the thing is stopped the normal way.
 * - `killOnExit(child)`: whatever way the process exits (an uncaught error, process.exit), a child
 *   still running gets SIGKILL — the last resort; `exit` handlers cannot wait for a graceful stop.
 * - `untilInterrupted()`: a command that stops in its own order (dev mode) waits here; while it
 *   waits, a signal is its to handle, and a second signal stops everything at once.
 * While nothing is registered no handler is installed: signals keep Node's default behaviour.
 */

type Stopper = { name: string; stop: () => Promise<void> | void };

/** How long one stop may take once the process was interrupted; then the next one runs. */
const STOP_TIMEOUT_MS = 15_000;
const SIGNAL_NUMBERS: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 2, SIGTERM: 15 };

const stoppers: Stopper[] = [];
const children = new Set<ChildProcess>();
const waiters: Array<(signal: NodeJS.Signals) => void> = [];
let stopping = false;
let installed = false;

export function stopOnExit(name: string, stop: Stopper["stop"]): () => void {
  const entry: Stopper = { name, stop };
  stoppers.push(entry);
  sync();
  return () => {
    const index = stoppers.indexOf(entry);
    if (index >= 0) stoppers.splice(index, 1);
    sync();
  };
}

export function killOnExit<T extends ChildProcess>(child: T): T {
  children.add(child);
  child.once("exit", () => {
    children.delete(child);
    sync();
  });
  sync();
  return child;
}

/**
 * Whether a child is still alive. A child killed by a signal keeps `exitCode === null` (its
 * `signalCode` is set instead), so `exitCode === null` alone takes a SIGKILLed worker for a live one.
 */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    waiters.push(resolve);
    sync();
  });
}

function onSignal(signal: NodeJS.Signals): void {
  if (waiters.length > 0 && !stopping) {
    for (const wake of waiters.splice(0)) wake(signal);
    stopping = true; // the next signal is not handed on: it stops everything now
    return;
  }
  void stopAllAndExit(signal);
}

async function stopAllAndExit(signal: NodeJS.Signals): Promise<void> {
  stopping = true;
  for (const entry of stoppers.splice(0).reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_TIMEOUT_MS);
    });
    await Promise.race([
      Promise.resolve()
        .then(entry.stop)
        .catch((error: unknown) => process.stderr.write(`stopping ${entry.name} failed: ${String(error)}\n`)),
      timedOut,
    ]);
    clearTimeout(timer);
  }
  process.exit(128 + (SIGNAL_NUMBERS[signal as keyof typeof SIGNAL_NUMBERS] ?? 15));
}

function killRemaining(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

/** Installs the handlers while anything is registered, and removes them once nothing is. */
function sync(): void {
  const needed = stoppers.length > 0 || children.size > 0 || waiters.length > 0;
  if (needed && !installed) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    process.on("exit", killRemaining);
    installed = true;
  } else if (!needed && installed && !stopping) {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", killRemaining);
    installed = false;
  }
}
