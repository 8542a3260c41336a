import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { waitFor, waitForValue } from "../helpers/wait-for.ts";

/**
 * `npm run dev` as a developer uses it, twice on one machine: each stack starts the worker and
 * the API, prints a complete environment (AWS_SECRET_ACCESS_KEY included, and a token), writes
 * its own state file; `upload` refuses to guess between two stacks and uploads to the one
 * MEDIA_PROCESSOR_DEV_STATE names, whose console API then lists the job completed. Ctrl-C
 * removes each state file.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");

interface DevStack {
  child: ChildProcess;
  output: () => string;
  env: Record<string, string>;
  stateFile: string;
  consoleUrl: string;
}

async function startDev(): Promise<DevStack> {
  const env = { ...process.env, LOG_LEVEL: "warn", API_TOKEN: "", API_INSECURE_NO_AUTH: "" };
  const child = spawn(process.execPath, ["src/cli.ts", "dev"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`dev did not start: ${text}`);
      return /Ctrl-C stops everything/.test(text);
    },
    () => `dev to start: ${text}`,
    60_000,
  );
  const printed = Object.fromEntries(
    [...text.matchAll(/^ {2}([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((match) => [match[1]!, match[2]!]),
  );
  return {
    child,
    output: () => text,
    env: printed,
    stateFile: /state: +(\S+)/.exec(text)![1]!,
    consoleUrl: /console: +(\S+)/.exec(text)![1]!,
  };
}

function run(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["src/cli.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function stopDev(stack: DevStack): Promise<void> {
  if (stack.child.exitCode !== null) return;
  const exited = new Promise((resolve) => stack.child.once("exit", resolve));
  stack.child.kill("SIGINT");
  await exited;
}

describe("npm run dev", () => {
  let first: DevStack;
  let second: DevStack;
  let work: string;
  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "mp-dev-test-"));
    first = await startDev();
    second = await startDev();
  });
  after(async () => {
    await Promise.all([first, second].filter(Boolean).map(stopDev));
    await rm(work, { recursive: true, force: true });
  });

  test("each stack prints a complete environment with a token, and has its own state file and ports", async () => {
    for (const stack of [first, second]) {
      for (const name of [
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "MEDIA_BUCKET",
        "MEDIA_PROCESSING_QUEUE_URL",
        "MEDIA_DLQ_URL",
        "MEDIA_INTAKE_QUEUE_URL",
        "REDIS_URL",
        "API_TOKEN",
        "API_PORT",
      ]) {
        assert.ok(stack.env[name], `${name} is printed: ${stack.output()}`);
      }
      assert.ok(existsSync(stack.stateFile));
      const answer = await fetch(`${stack.consoleUrl}api/media/jobs`, {
        headers: { authorization: `Bearer ${stack.env.API_TOKEN}` },
      });
      assert.equal(answer.status, 200, "the API runs, and the printed token opens it");
      assert.equal((await fetch(`${stack.consoleUrl}api/media/jobs`)).status, 401);
    }
    assert.notEqual(first.stateFile, second.stateFile);
    assert.notEqual(first.env.API_PORT, second.env.API_PORT);
    assert.notEqual(first.env.REDIS_URL, second.env.REDIS_URL);
    assert.equal(first.output().split(first.env.API_TOKEN!).length - 1, 1, "the token is printed once");
  });

  test("upload refuses to guess between two stacks, and goes to the one MEDIA_PROCESSOR_DEV_STATE names", async () => {
    const file = path.join(work, "photo.png");
    await writeFile(
      file,
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#3366cc" } })
        .png()
        .toBuffer(),
    );
    const ambiguous = await run(["upload", file]);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /several dev stacks/);
    const sent = await run(["upload", file], { MEDIA_PROCESSOR_DEV_STATE: second.stateFile });
    assert.equal(sent.code, 0, sent.stderr);
    const { jobId } = JSON.parse(sent.stdout) as { jobId: string };
    const headers = { authorization: `Bearer ${second.env.API_TOKEN}` };
    const status = await waitForValue(
      async () => {
        const job = await fetch(`${second.consoleUrl}api/media/jobs/${jobId}`, { headers });
        return job.status === 200 ? ((await job.json()) as { status: string }).status : "";
      },
      (current) => current === "completed",
      (last) => `job ${jobId} completed in the second stack; last status: ${last}`,
      30_000,
    );
    assert.equal(status, "completed");
    assert.equal(
      (
        await fetch(`${first.consoleUrl}api/media/jobs/${jobId}`, {
          headers: { authorization: `Bearer ${first.env.API_TOKEN}` },
        })
      ).status,
      404,
      "not in the other stack",
    );
  });

  test("Ctrl-C stops each stack and removes its state file", async () => {
    await stopDev(first);
    await stopDev(second);
    assert.equal(first.child.exitCode, 0, first.output().slice(-500));
    assert.equal(existsSync(first.stateFile) || existsSync(second.stateFile), false);
  });
});
