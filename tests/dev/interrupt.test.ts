import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * Children never outlive their parent: the demo and the benchmark, interrupted with SIGTERM while
 * their redis-server, workers and tools run, leave no process of theirs behind and exit 128+15.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");

/** Every process below `pid` (Linux: /proc/<pid>/task/<tid>/children). */
async function descendants(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const direct = new Set<number>();
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const child of text.split(/\s+/).filter(Boolean)) direct.add(Number(child));
  }
  const all = [...direct];
  for (const child of direct) all.push(...(await descendants(child)));
  return all;
}

/** Running: exists and is not a zombie waiting to be reaped. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/^\d+ \(.*\) Z/.test(stat);
}

async function interruptWhen(
  command: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ code: number | null; left: number[]; started: number[]; stderr: string }> {
  const child = spawn(process.execPath, command, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    // The demo's progress goes to stdout (stderr with --json), the benchmark's to stderr.
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString();
      if (ready.test(stderr)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", () => reject(new Error(`exited before it was ready:\n${stderr.slice(-2000)}`)));
  });
  const started = await descendants(child.pid!);
  child.kill("SIGTERM");
  const code = await exited;
  // What it stops is gone by the time it exits; give the kernel a moment to reap (no timing asserted).
  let left: number[] = started;
  try {
    left = (await waitForValue(
      async () => {
        const living: number[] = [];
        for (const pid of started) if (await alive(pid)) living.push(pid);
        left = living;
        return living;
      },
      (living) => living.length === 0,
      (last) => `every process it started to stop; left behind: ${last?.join(", ")}\n${stderr.slice(-1500)}`,
      5_000,
    ))!;
  } finally {
    for (const pid of left) process.kill(pid, "SIGKILL"); // do not leave them to the next test
  }
  return { code, left, started, stderr };
}

test("an interrupted demo stops its worker and its redis-server before it exits", async () => {
  const result = await interruptWhen(["src/cli.ts", "demo"], {}, /uploading \d+ file/);
  assert.ok(result.started.length > 0, "the demo had started children (redis-server)");
  assert.deepEqual(result.left, [], `left behind: ${result.left.join(", ")}\n${result.stderr.slice(-1500)}`);
  assert.equal(result.code, 143, result.stderr.slice(-1500));
});

test("an interrupted benchmark stops its workers and its redis-server before it exits", async () => {
  const result = await interruptWhen(["bench/run.ts"], { BENCH_ONLY: "queue", BENCH_QUICK: "1" }, /queue: warm-up/);
  assert.ok(result.started.length > 0, "the benchmark had started children (redis-server)");
  assert.deepEqual(result.left, [], `left behind: ${result.left.join(", ")}\n${result.stderr.slice(-1500)}`);
  assert.equal(result.code, 143, result.stderr.slice(-1500));
});
