import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";

/**
 * Each worker keeps its job dirs under TEMP_DIR/<worker id>. A worker killed mid-job leaves its
 * folder behind; at start, folders of workers with no live heartbeat are removed (several
 * workers may share one TEMP_DIR, so only dead ones are touched).
 */
export async function prepareTempRoot(tempDir: string, workerId: string, isAlive: (workerId: string) => Promise<boolean>): Promise<{ root: string; removed: string[] }> {
  const folder = workerFolderName(workerId);
  await mkdir(tempDir, { recursive: true });
  const removed: string[] = [];
  for (const entry of await readdir(tempDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === folder) continue;
    if (await isAlive(entry.name)) continue;
    await rm(path.join(tempDir, entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  const root = path.join(tempDir, folder);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  return { root, removed };
}

export function workerFolderName(workerId: string): string {
  return workerId.replace(/[^A-Za-z0-9._-]/g, "_");
}
