import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import { promisify } from "node:util";
import sharp from "sharp";

const run = promisify(execFile);

/** What the numbers were taken on: they only compare with numbers from the same machine and run. */
export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  sharp: string;
  libvips: string;
  ffmpeg: string;
  redis: string;
  pdfjs: string;
  mallocArenaMax: string;
  loadAverage: string;
}

async function firstLine(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args);
    return stdout.split("\n")[0]?.trim() ?? "?";
  } catch {
    return "not found";
  }
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
}

export async function machineFacts(): Promise<MachineFacts> {
  const require = createRequire(import.meta.url);
  const pdfjsPackage = JSON.parse(await readFile(require.resolve("pdfjs-dist/package.json"), "utf8")) as {
    version: string;
  };
  const ffmpeg = (await firstLine("ffmpeg", ["-version"])).replace(/ Copyright.*$/, "");
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "?",
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    sharp: (sharp.versions as Record<string, string | undefined>).sharp ?? "?",
    libvips: sharp.versions.vips,
    ffmpeg,
    redis: (await firstLine("redis-server", ["--version"])).replace(/ sha=.*$/, ""),
    pdfjs: pdfjsPackage.version,
    mallocArenaMax: "2 (both sides)",
    loadAverage: loadAverage(),
  };
}
