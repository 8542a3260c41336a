import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Each worker keeps its job dirs under TEMP_DIR/<worker id>. A worker killed mid-job leaves its
 * folder behind; at start, folders of workers with no live heartbeat are removed (several
 * workers may share one TEMP_DIR, so only dead ones are touched).
 */
export async function prepareTempRoot(
  tempDir: string,
  workerId: string,
  isAlive: (workerId: string) => Promise<boolean>,
): Promise<{ root: string; removed: string[] }> {
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

/**
 * Rewrites a tool's message so it names no path of the worker's temp dir: the job's input
 * becomes the source key (what the user uploaded), any other file of the job its name inside
 * the job dir, and anything else under the temp root is dropped. Plain paths and file:// URLs.
 */
export function redactTempPaths(
  message: string,
  where: { workDir: string; tempRoot: string; sourceKey: string },
): string {
  let result = message;
  for (const root of new Set(
    [where.workDir, where.tempRoot, path.dirname(where.tempRoot)].filter((root) => root.length > 1),
  )) {
    for (const form of [pathToFileURL(root).href, root]) {
      // Not followed by more of a name: `/tmp/a` must not match inside `/tmp/ab`.
      const pattern = new RegExp(`${escapeRegExp(form)}(?![\\w.-])(/[^\\s"'\`:,;()<>]*)?`, "g");
      result = result.replace(pattern, (_match, rest: string | undefined) => {
        const full = `${root}${rest ? decodeIfUrl(rest, form !== root) : ""}`;
        if (full === path.join(where.workDir, "input")) return where.sourceKey;
        if (full.startsWith(`${where.workDir}/`)) return full.slice(where.workDir.length + 1);
        return "<temp>";
      });
    }
  }
  return result;
}

function decodeIfUrl(text: string, isUrl: boolean): string {
  if (!isUrl) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
