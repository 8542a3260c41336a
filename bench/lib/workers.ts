import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../src/dev/free-port.ts";
import { peakRssMiB } from "../raw/raw-common.ts";
import { processTreeCpu, type ProcessTreeCpu } from "./process-cpu.ts";
import { CONSUMER_STOP_SETTLE_MS } from "./stack.ts";
import { isRunning, killOnExit, stopOnExit } from "../../src/dev/stop-on-exit.ts";

/**
 * Real worker processes (`node src/cli.ts worker`, the container's command) for the pipeline
 * side: each its own process, so its peak RSS is its own and MALLOC_ARENA_MAX applies to it as
 * in production. Started before a measurement and kept across the runs of one area, the way a
 * deployed worker waits for work.
 */
export interface WorkerGroup {
  processes: ChildProcess[];
  /** Peak RSS (VmHWM) of each worker process so far, MiB; sharp runs inside it, ffmpeg and pdf.js do not. */
  peakRssMiB(): Promise<number[]>;
  /** CPU seconds used so far by the worker processes and every tool they run(ning). */
  cpuSeconds(): Promise<number>;
  /** {@link cpuSeconds} with the part the worker processes used themselves (node, its threads, sharp), from one read. */
  cpu(): Promise<ProcessTreeCpu>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface WorkerGroupOptions {
  count: number;
  env: Record<string, string>;
  /** Extra node flags (e.g. `--import` of the Redis counter, `--cpu-prof`). */
  nodeArgs?: string[];
  /** Worker logs (stdout, JSON lines) and stderr go here, not to the report. */
  logFile: string;
  name: string;
  /**
   * CPUs to pin the workers to (`taskset -c`, e.g. "0" or "0-1"): emulates separate machines on
   * one host; the tools a worker starts inherit it. Unset: every CPU.
   */
  cpus?: string;
}

export async function startWorkers(options: WorkerGroupOptions): Promise<WorkerGroup> {
  const log = createWriteStream(options.logFile, { flags: "a" });
  const processes: ChildProcess[] = [];
  const ports: number[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const port = await freePort();
    ports.push(port);
    const command = [process.execPath, ...(options.nodeArgs ?? []), "src/cli.ts", "worker"];
    // taskset execs node: the child's pid stays the worker's (peak RSS, CPU seconds).
    const [file, ...args] = options.cpus ? ["taskset", "-c", options.cpus, ...command] : command;
    const child = spawn(file!, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        ...options.env,
        WORKER_ID: `${options.name}-${index}`,
        METRICS_PORT: String(port),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    killOnExit(child);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    processes.push(child);
  }
  try {
    await Promise.all(ports.map((port, index) => waitReady(port, processes[index]!)));
  } catch (error) {
    for (const child of processes) child.kill("SIGKILL");
    const tail = (await readFile(options.logFile, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
    throw new Error(`${(error as Error).message}\n${tail}`);
  }
  const cpu = async (): Promise<ProcessTreeCpu> => {
    const each = await Promise.all(processes.map((child) => processTreeCpu(child.pid!)));
    return {
      totalSec: each.reduce((sum, tree) => sum + tree.totalSec, 0),
      ownSec: each.reduce((sum, tree) => sum + tree.ownSec, 0),
    };
  };
  const group: WorkerGroup = {
    processes,
    peakRssMiB: () => Promise.all(processes.map((child) => peakRssMiB(child.pid!))),
    cpuSeconds: async () => (await cpu()).totalSec,
    cpu,
    async stop() {
      unregister();
      await Promise.all(
        processes.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
              child.once("exit", () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill("SIGTERM");
            }),
        ),
      );
      log.end();
      // A long poll of the stopped worker may still be open in the emulator (see CONSUMER_STOP_SETTLE_MS).
      await sleep(CONSUMER_STOP_SETTLE_MS);
    },
  };
  // An interrupted benchmark stops its workers gracefully (they abort their ffmpeg) before its stack.
  const unregister = stopOnExit(`${options.name} workers`, () => group.stop());
  return group;
}

/** /readyz answers 200 once Redis and SQS answer the worker. */
async function waitReady(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isRunning(child))
      throw new Error(`worker exited with ${child.exitCode} before it was ready (see the worker log)`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await sleep(100);
  }
  throw new Error("worker not ready after 60 s");
}
