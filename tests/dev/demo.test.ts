import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import sharp from "sharp";
import { DemoInputError, resolveDemoInputs } from "../../src/dev/demo.ts";

/**
 * The demo command as a user runs it: `--json` prints the JSON document and nothing else on
 * stdout (so `| jq` works), a folder is processed recursively, and a path it cannot use is one
 * clear line and exit code 2, not a stack trace.
 */

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
type Run = { code: number; stdout: string; stderr: string };
type Summary = { jobs: Array<{ sourceKey: string; type: string; status: string; outputs: string[] }> };

async function run(command: string, args: string[]): Promise<Run> {
  const env = { ...process.env, PATH: `/usr/local/bin:${process.env.PATH ?? ""}`, LOG_LEVEL: "info" };
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      cwd: ROOT,
      env,
      timeout: 240_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : -1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}

describe("the demo command", () => {
  let dir: string;
  let photos: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-demo-test-"));
    photos = path.join(dir, "holiday");
    await mkdir(path.join(photos, "day 2"), { recursive: true });
    await writeFile(
      path.join(photos, "IMG_1.png"),
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#e01010" } })
        .png()
        .toBuffer(),
    );
    await writeFile(
      path.join(photos, "day 2", "IMG_1.jpg"),
      await sharp({ create: { width: 64, height: 48, channels: 3, background: "#1010e0" } })
        .jpeg()
        .toBuffer(),
    );
    await writeFile(path.join(photos, ".DS_Store"), "Finder's notes, not a photo");
    await symlink(photos, path.join(photos, "day 2", "loop"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("bash scripts/demo.sh --json | jq works: only the JSON document is on stdout; setup and logs go to stderr", async () => {
    // pipefail: a demo failure or output jq cannot parse fails the pipeline.
    const result = await run("bash", [
      "-o",
      "pipefail",
      "-c",
      'bash scripts/demo.sh --json "$1" | jq -c .',
      "demo",
      path.join(photos, "IMG_1.png"),
    ]);
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    const summary = JSON.parse(result.stdout) as Summary;
    assert.deepEqual(
      summary.jobs.map((job) => [job.type, job.status]),
      [["image", "completed"]],
    );
    assert.match(result.stderr, /setup: node/, "setup's lines are on stderr");
    assert.match(result.stderr, /all 1 jobs completed/);
  });

  test("a folder is processed recursively, hidden files skipped, files keeping their relative paths, with --out", async () => {
    const out = path.join(dir, "out");
    const result = await run(process.execPath, ["src/cli.ts", "demo", "--json", "--out", out, photos]);
    assert.equal(result.code, 0, result.stderr.slice(-2000));
    const summary = JSON.parse(result.stdout) as Summary;
    const names = summary.jobs.map((job) => job.sourceKey.replace(/^tenants\/demo\/users\/demo\/media\/\d+-0-/, ""));
    assert.deepEqual(names, ["holiday/IMG_1.png", "holiday/day 2/IMG_1.jpg"]);
    assert.ok(summary.jobs.every((job) => job.status === "completed"));
    const downloaded = await readdir(out, { recursive: true });
    for (const job of summary.jobs) {
      for (const key of job.outputs) assert.ok(downloaded.includes(key), `${key} downloaded`);
    }
  });

  test("a missing path or an empty folder is one clear line and exit code 2", async () => {
    const empty = path.join(dir, "empty");
    await mkdir(empty);
    for (const [given, message] of [
      [path.join(dir, "nope.jpg"), /^demo: no such file or folder: .*nope\.jpg\n$/],
      [empty, /^demo: no files to process in the folder .*empty\n$/],
    ] as const) {
      const result = await run(process.execPath, ["src/cli.ts", "demo", given]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, "");
    }
  });

  test("resolveDemoInputs lists files as given and a folder's files in name order", async () => {
    const inputs = await resolveDemoInputs([path.join(photos, "IMG_1.png"), photos], 1700000000);
    assert.deepEqual(
      inputs.map((input) => input.name),
      ["1700000000-0-IMG_1.png", "1700000000-1-holiday/IMG_1.png", "1700000000-1-holiday/day 2/IMG_1.jpg"],
    );
    await assert.rejects(resolveDemoInputs([path.join(dir, "missing")], 1), DemoInputError);
  });
});
