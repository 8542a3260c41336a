import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { RawRunResult } from "../raw/raw-common.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Runs one raw-side script (bench/raw/*.ts) as its own node process with the same allocator
 * setting as the worker, hands it its request as a JSON file, and reads the one JSON line it
 * prints. The script times its own work, after its imports, as the worker is timed after start.
 */
export async function runRawProcess(
  script: string,
  request: unknown,
  requestFile: string,
  env: Record<string, string> = {},
): Promise<RawRunResult> {
  await writeFile(requestFile, JSON.stringify(request));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bench", "raw", script), requestFile], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        AWS_ACCESS_KEY_ID: "local",
        AWS_SECRET_ACCESS_KEY: "local",
        MALLOC_ARENA_MAX: "2",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("exit", (code) => {
      const last = stdout.trim().split("\n").at(-1) ?? "";
      if (code !== 0 || !last.startsWith("{")) {
        reject(new Error(`bench/raw/${script} exited with ${code}: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolve(JSON.parse(last) as RawRunResult);
    });
  });
}
