import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Sets the CPUs a running process and all its threads may use (`taskset -a -p -c`). The
 * benchmark pins its own process (the in-process S3+SQS emulator) and redis-server next to
 * the worker that stands for the machine they share, so a layout that emulates separate
 * machines does not find them on the other machine's CPU.
 */
export async function pinProcesses(pids: ReadonlyArray<number | undefined>, cpus: string): Promise<void> {
  for (const pid of pids) if (pid !== undefined) await run("taskset", ["-a", "-p", "-c", cpus, String(pid)]);
}

/** Every CPU of this machine, as taskset names them ("0-1"). */
export function allCpus(): string {
  return `0-${os.availableParallelism() - 1}`;
}
