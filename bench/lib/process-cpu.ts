import { readdir, readFile } from "node:fs/promises";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * Parses /proc/<pid>/stat: utime, stime, cutime, cstime (fields 14–17), in seconds (pure).
 * The command name in parentheses may contain spaces, so fields are counted after the last ")".
 */
export function parseStatCpu(stat: string): { selfSec: number; waitedChildrenSec: number } {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After ")": index 0 is field 3 (state), so field n is index n - 3.
  const ticks = (field: number) => Number(fields[field - 3] ?? 0);
  return {
    selfSec: (ticks(14) + ticks(15)) / TICKS_PER_SECOND,
    waitedChildrenSec: (ticks(16) + ticks(17)) / TICKS_PER_SECOND,
  };
}

async function liveChildren(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const children = await Promise.all(
    tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "")),
  );
  return children.flatMap((text) => text.trim().split(/\s+/).filter(Boolean).map(Number));
}

/** CPU seconds of a process tree: everything under it, and the part the process used itself. */
export interface ProcessTreeCpu {
  totalSec: number;
  /** The process's own threads (for a worker: node, libuv, sharp), without any child. */
  ownSec: number;
}

/**
 * CPU seconds a process and everything under it have used so far: its own time, the time of its
 * children that exited and were waited for (ffmpeg runs), and the time of those still running
 * (the pdf.js pool), recursively; with the process's own part from the same read. Take it
 * before and after a run and subtract.
 */
export async function processTreeCpu(pid: number): Promise<ProcessTreeCpu> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (!stat) return { totalSec: 0, ownSec: 0 };
  const { selfSec, waitedChildrenSec } = parseStatCpu(stat);
  const children = await liveChildren(pid);
  const childSeconds = await Promise.all(children.map((child) => processTreeCpuSeconds(child)));
  return {
    totalSec: selfSec + waitedChildrenSec + childSeconds.reduce((sum, seconds) => sum + seconds, 0),
    ownSec: selfSec,
  };
}

/** {@link processTreeCpu}'s total alone. */
export async function processTreeCpuSeconds(pid: number): Promise<number> {
  return (await processTreeCpu(pid)).totalSec;
}

/** CPU seconds of this process's children that have exited and been waited for (the tools it ran). */
export async function waitedChildrenCpuSeconds(): Promise<number> {
  return parseStatCpu(await readFile("/proc/self/stat", "utf8")).waitedChildrenSec;
}
