import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * How `upload` finds a running `dev` stack: each stack writes its environment to its own file,
 * `<tmp>/media-processor-dev/<pid>.json`, so two dev stacks on one machine never share one.
 * `upload` uses MEDIA_PROCESSOR_DEV_STATE when set, else the only live stack, and refuses to
 * guess between several.
 */
export const DEV_STATE_DIR = path.join(os.tmpdir(), "media-processor-dev");

export const devStateFile = (pid = process.pid) => path.join(DEV_STATE_DIR, `${pid}.json`);

export async function writeDevState(env: Record<string, string>, file = devStateFile()): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(env, null, 2), { mode: 0o600 });
  return file;
}

export async function removeDevState(file = devStateFile()): Promise<void> {
  await rm(file, { force: true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

export type DevStateChoice =
  | { kind: "found"; file: string; env: Record<string, string> }
  | { kind: "none" }
  | { kind: "several"; files: string[] };

/** The state of the stack `upload` should use (see above); state files of dead stacks are removed on the way. */
export async function chooseDevState(explicit = process.env.MEDIA_PROCESSOR_DEV_STATE): Promise<DevStateChoice> {
  const read = async (file: string) => JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
  if (explicit) return { kind: "found", file: explicit, env: await read(explicit) };
  const names = await readdir(DEV_STATE_DIR).catch((): string[] => []);
  const live: string[] = [];
  for (const name of names.filter((entry) => /^\d+\.json$/.test(entry))) {
    const file = path.join(DEV_STATE_DIR, name);
    if (alive(Number(name.slice(0, -5)))) live.push(file);
    else await rm(file, { force: true });
  }
  if (live.length === 0) return { kind: "none" };
  if (live.length > 1) return { kind: "several", files: live.sort() };
  return { kind: "found", file: live[0]!, env: await read(live[0]!) };
}
