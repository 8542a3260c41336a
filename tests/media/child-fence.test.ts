import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { MediaError } from "../../src/errors.ts";
import {
  abortErrorOf,
  CHILD_ENV_KEYS,
  childEnvironment,
  forkChild,
  killChild,
  liveChildCount,
} from "../../src/media/child-fence.ts";
import { runTool } from "../../src/media/tool-process.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The child-process fence with real children (node, sh, sleep): what a child may see of our
 * environment, that a kill reaches a tool's whole process group, that the worker's exit takes its
 * children with it, and which error an aborted signal becomes.
 */

/** Secrets a worker holds in its environment; none may reach a child. */
const SECRETS: Record<string, string> = {
  AWS_ACCESS_KEY_ID: "AKIAFENCETEST",
  AWS_SECRET_ACCESS_KEY: "fence-test-secret",
  AWS_SESSION_TOKEN: "fence-test-session",
  REDIS_URL: "redis://:fence-test-password@redis:6379/0",
  REDIS_PASSWORD: "fence-test-password",
  API_TOKEN: "fence-test-api-token-0123456789",
  API_TOKENS: "ops:admin:fence-test-api-token-0123456789",
  NODE_OPTIONS: "--title=fence-test-node-options",
};
Object.assign(process.env, SECRETS);

/** The names a child may see: the test's own copy, so a name added to the fence's list fails here first. */
const ALLOWED = new Set([
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
]);

/** What of `env` a child should never have seen: a secret's name or value, or a name outside ALLOWED. */
function leaks(env: NodeJS.ProcessEnv): string[] {
  const values = new Set(Object.values(SECRETS));
  return Object.entries(env)
    .filter(([name, value]) => !ALLOWED.has(name) || name in SECRETS || (value !== undefined && values.has(value)))
    .map(([name]) => name)
    .sort();
}

const FORK_FIXTURE = fileURLToPath(new URL("../fixtures/fence-child.ts", import.meta.url));
const PARENT_FIXTURE = fileURLToPath(new URL("../fixtures/fence-parent.ts", import.meta.url));

/** A pid is alive unless /proc has no entry for it or it is a zombie waiting to be reaped. */
async function alive(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

test("the leak check itself catches an environment that was not filtered (so a wrong allowlist fails the tests below)", () => {
  assert.deepEqual(
    leaks(process.env).filter((name) => name in SECRETS),
    Object.keys(SECRETS).sort(),
  );
  assert.deepEqual(leaks({ PATH: "/usr/bin", DATABASE_URL: "postgres://x" }), ["DATABASE_URL"]);
});

test("the fence's allowlist names only variables a child needs, none of them a credential", () => {
  assert.deepEqual(new Set(CHILD_ENV_KEYS), ALLOWED);
  assert.deepEqual(leaks(childEnvironment()), []);
});

test("a media tool started through the fence sees none of the worker's credentials, even though the worker has them", async () => {
  const run = await runTool({
    binary: process.execPath,
    args: ["-e", "process.stdout.write(JSON.stringify(process.env))"],
    collectStdoutBytes: 1 << 20,
  });
  assert.equal(run.exitCode, 0, run.stderrTail);
  const env = JSON.parse(run.stdout) as NodeJS.ProcessEnv;
  assert.deepEqual(leaks(env), []);
  assert.equal(env.PATH, process.env.PATH);
});

test("the forked pdf.js-style child sees none of the worker's credentials, and gets the defaults it asked for", async () => {
  const saved = process.env.MALLOC_ARENA_MAX;
  delete process.env.MALLOC_ARENA_MAX;
  try {
    const child = forkChild(FORK_FIXTURE, {
      execArgv: [],
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      envDefaults: { MALLOC_ARENA_MAX: "2" },
    });
    const message = await new Promise<{ env: NodeJS.ProcessEnv }>((resolve) =>
      child.once("message", (m) => resolve(m as { env: NodeJS.ProcessEnv })),
    );
    killChild(child);
    assert.deepEqual(leaks(message.env), []);
    assert.equal(message.env.MALLOC_ARENA_MAX, "2");
    assert.equal(message.env.PATH, process.env.PATH);
  } finally {
    if (saved !== undefined) process.env.MALLOC_ARENA_MAX = saved;
  }
});

test("a parent value wins over a child's default, and an empty one is replaced by it", () => {
  assert.deepEqual(childEnvironment({ HOME: "/home/worker", PATH: "/bin" }, { HOME: "/tmp" }), {
    PATH: "/bin",
    HOME: "/home/worker",
  });
  assert.deepEqual(childEnvironment({ HOME: "", PATH: "/bin" }, { HOME: "/tmp" }), { PATH: "/bin", HOME: "/tmp" });
});

test("aborting a tool kills its whole process group, grandchildren included", async () => {
  const controller = new AbortController();
  let output = "";
  const run = runTool({
    binary: "sh",
    args: ["-c", "sleep 60 >/dev/null 2>&1 & echo $!; wait"],
    signal: controller.signal,
    onStdout: (chunk) => {
      output += chunk;
      if (output.includes("\n")) controller.abort("cancelled");
    },
  });
  await assert.rejects(run, (error: unknown) => error instanceof MediaError && error.code === "cancelled");
  const grandchild = Number(output.trim());
  assert.ok(grandchild > 0, `grandchild pid printed: ${output}`);
  try {
    await waitFor(async () => !(await alive(grandchild)), `grandchild ${grandchild} killed with its group`, 5_000, 20);
  } finally {
    killQuietly(grandchild);
  }
});

test("a tool that exits leaving a child behind in its group takes that child with it", async () => {
  const run = await runTool({
    binary: "sh",
    args: ["-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
    collectStdoutBytes: 1024,
  });
  assert.equal(run.exitCode, 0);
  const grandchild = Number(run.stdout.trim());
  assert.ok(grandchild > 0, `grandchild pid printed: ${run.stdout}`);
  try {
    await waitFor(
      async () => !(await alive(grandchild)),
      `leftover ${grandchild} killed when the tool exited`,
      5_000,
      20,
    );
  } finally {
    killQuietly(grandchild);
  }
});

test("when the worker exits, the fence kills every child it started (tool, its grandchild, forked child); one started outside the fence survives", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [PARENT_FIXTURE], { timeout: 30_000 });
  const pids = JSON.parse(stdout) as { tool: number; grandchild: number; forked: number; unfenced: number };
  try {
    for (const name of ["tool", "grandchild", "forked"] as const) {
      await waitFor(
        async () => !(await alive(pids[name])),
        `${name} (${pids[name]}) killed when its parent exited`,
        5_000,
        20,
      );
    }
    // The control: the check above would have seen a survivor.
    assert.equal(await alive(pids.unfenced), true, "a process outside the fence is not killed by the hook");
  } finally {
    for (const pid of Object.values(pids)) killQuietly(pid);
  }
});

test("a child leaves the registry when it ends", async () => {
  const before = liveChildCount();
  await runTool({ binary: "true", args: [] });
  const child = forkChild(FORK_FIXTURE, { execArgv: [], stdio: ["ignore", "ignore", "ignore", "ipc"] });
  await new Promise((resolve) => child.once("message", resolve));
  assert.equal(liveChildCount(), before + 1);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  killChild(child);
  await exited;
  assert.equal(liveChildCount(), before);
});

test("an aborted signal whose reason is a MediaError becomes that very error", () => {
  const reason = new MediaError("the PDF took too long", { code: "document-time-budget", category: "resource" });
  assert.equal(abortErrorOf(AbortSignal.abort(reason)), reason);
});

test("the pipeline's abort reasons become their own errors", () => {
  const codeOf = (reason: string) => {
    const error = abortErrorOf(AbortSignal.abort(reason));
    return [error.code, error.category];
  };
  assert.deepEqual(codeOf("timeout"), ["processing-timeout", "resource"]);
  assert.deepEqual(codeOf("shutdown"), ["shutdown", "transient"]);
  assert.deepEqual(codeOf("visibility-limit"), ["visibility-limit", "resource"]);
  assert.deepEqual(codeOf("cancelled"), ["cancelled", "cancelled"]);
});

test("an abort with any other reason counts as a cancellation", () => {
  assert.deepEqual(
    [abortErrorOf(AbortSignal.abort()).code, abortErrorOf(AbortSignal.abort("bored")).code],
    ["cancelled", "cancelled"],
  );
});

test("a tool aborted mid-run rejects with the signal's error", async () => {
  const controller = new AbortController();
  const run = runTool({ binary: "sleep", args: ["60"], signal: controller.signal });
  setTimeout(() => controller.abort("timeout"), 50);
  await assert.rejects(run, (error: unknown) => error instanceof MediaError && error.code === "processing-timeout");
});

test("no module outside the fence starts a child process (src/dev's developer stack aside)", async () => {
  const src = fileURLToPath(new URL("../../src/", import.meta.url));
  const starters: string[] = [];
  for (const entry of await readdir(src, { recursive: true })) {
    if (!entry.endsWith(".ts")) continue;
    const text = await readFile(path.join(src, entry), "utf8");
    // A value import of child_process (a type-only import cannot start anything).
    if (/^import (?!type )[^;]*from "node:child_process";/m.test(text)) starters.push(entry.split(path.sep).join("/"));
  }
  assert.deepEqual(
    starters.filter((file) => !file.startsWith("dev/")),
    ["media/child-fence.ts"],
  );
});
