import { randomUUID } from "node:crypto";
import { copyFile, link, mkdir, rm } from "node:fs/promises";
import path from "node:path";

/**
 * A chunked video's source, kept by the worker between the tasks of its job. Every task of a
 * chunked video reads the whole source (media tools only open local files), so without this
 * each task downloaded it again: a 150 s 1080p upload of 300 MB was fetched once per chunk, by
 * the same worker, one task after the other. Here a worker downloads a source once per job (or
 * adopts the planner's own download) and gives each later task of that job a hard link to it.
 *
 * Entries are keyed by job, plan and the object's version (or ETag): the bytes a task gets are
 * the ones its plan was made from, checked when they were downloaded. Disk stays within what the
 * temp volume is sized for (slots × largest input): at most `maxEntries` sources (the worker's
 * slots) are kept, an entry in use is never removed, and an unused one goes after `idleMs`, when
 * its job ends on this worker, or when a newer source needs the room.
 */

export interface CachedSourceKey {
  jobId: string;
  planId: string;
  /** The object's version id, else its ETag: what the plan was made from. */
  identity: string;
}

/**
 * The entry key of a job's planned source: its version id, else its ETag (what the plan was made
 * from); undefined when the plan names neither, and then nothing is kept.
 */
export function plannedSourceKey(
  jobId: string,
  stored: { planId: string; versionId: string | undefined; eTag: string | undefined },
): CachedSourceKey | undefined {
  const identity = stored.versionId ?? stored.eTag;
  return identity ? { jobId, planId: stored.planId, identity } : undefined;
}

export interface ProvidedSource {
  /** True when the bytes came from the cache (no download). */
  cached: boolean;
  /** The task is done with the source: the entry may be removed from now on. */
  release: () => void;
}

interface Entry {
  jobId: string;
  file: string;
  /** Settles when the file is complete; rejected downloads leave the map at once. */
  ready: Promise<void>;
  users: number;
  lastUsedAt: number;
}

export interface SourceCacheOptions {
  dir: string;
  maxEntries: number;
  idleMs: number;
  now?: () => number;
}

export class ChunkSourceCache {
  private readonly options: SourceCacheOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private sweeper: NodeJS.Timeout | undefined;
  /** Jobs running here with their own input on the temp volume (one pass, images, …): each takes a kept source's room. */
  private reservations = 0;

  constructor(options: SourceCacheOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Sources kept (downloaded or being downloaded). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Puts `target` in place: a link to the cached source when this worker has it, otherwise
   * `download(file)` fills a new entry first (a failed download caches nothing and throws).
   * Tasks of one job arriving together share one download.
   */
  async provide(
    key: CachedSourceKey,
    target: string,
    download: (file: string) => Promise<void>,
  ): Promise<ProvidedSource> {
    this.expireIdle();
    const id = entryId(key);
    const known = this.entries.get(id);
    if (known) {
      known.users += 1;
      try {
        await known.ready;
      } catch {
        // Another task's download failed (its own abort, a network error): fetch it for this one.
        if (this.entries.get(id) === known) this.entries.delete(id);
        return this.provide(key, target, download);
      }
      try {
        await linkOrCopy(known.file, target);
      } catch (error) {
        this.release(known);
        throw error;
      }
      return { cached: true, release: once(() => this.release(known)) };
    }
    // In the map before the first await, so tasks arriving together find this download and wait for it.
    const file = path.join(this.options.dir, `${randomUUID()}.source`);
    const ready = mkdir(this.options.dir, { recursive: true }).then(() => download(file));
    const entry: Entry = { jobId: key.jobId, file, ready, users: 1, lastUsedAt: this.now() };
    this.entries.set(id, entry);
    this.makeRoom(id);
    try {
      await entry.ready;
      await linkOrCopy(file, target);
    } catch (error) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      await rm(file, { force: true }).catch(() => undefined);
      throw error;
    }
    this.startSweeper();
    return { cached: false, release: once(() => this.release(entry)) };
  }

  /** Keeps a file this worker already holds (the planner's download) for the job's tasks; best effort. */
  async adopt(key: CachedSourceKey, file: string): Promise<boolean> {
    const id = entryId(key);
    if (this.entries.has(id)) return false;
    try {
      await mkdir(this.options.dir, { recursive: true });
      const kept = path.join(this.options.dir, `${randomUUID()}.source`);
      await link(file, kept);
      if (this.entries.has(id)) {
        await rm(kept, { force: true });
        return false;
      }
      this.entries.set(id, {
        jobId: key.jobId,
        file: kept,
        ready: Promise.resolve(),
        users: 0,
        lastUsedAt: this.now(),
      });
      this.makeRoom(id);
      this.startSweeper();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A job that downloads its own input is starting on this worker: idle kept sources make room for
   * it, so kept sources and running jobs' inputs together stay within the slots the temp volume is
   * sized for. The returned function ends the reservation.
   */
  reserve(): () => void {
    this.reservations += 1;
    this.makeRoom(undefined);
    return once(() => {
      this.reservations = Math.max(0, this.reservations - 1);
    });
  }

  /** The job ended here (stitched, cancelled, failed): its sources are no longer needed by this worker. */
  async drop(jobId: string): Promise<void> {
    await Promise.all(
      [...this.entries]
        .filter(([, entry]) => entry.jobId === jobId && entry.users === 0)
        .map(([id]) => this.remove(id)),
    );
  }

  /** Removes every entry (shutdown); files still linked by a running task live on in its work dir. */
  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    await Promise.all([...this.entries.keys()].map((id) => this.remove(id)));
  }

  private release(entry: Entry): void {
    entry.users = Math.max(0, entry.users - 1);
    entry.lastUsedAt = this.now();
    // A newer source may have gone over the bound while this one was in use.
    if (this.entries.size + this.reservations > this.options.maxEntries) this.makeRoom(undefined);
  }

  /** Least recently used unused entries go until entries + reservations fit the bound (entries in use, or `keep`, never). */
  private makeRoom(keep: string | undefined): void {
    const idle = [...this.entries]
      .filter(([id, entry]) => id !== keep && entry.users === 0)
      .sort(([, a], [, b]) => a.lastUsedAt - b.lastUsedAt);
    let excess = this.entries.size + this.reservations - this.options.maxEntries;
    for (const [id] of idle) {
      if (excess <= 0) break;
      void this.remove(id);
      excess -= 1;
    }
  }

  private expireIdle(): void {
    const cutoff = this.now() - this.options.idleMs;
    for (const [id, entry] of this.entries) if (entry.users === 0 && entry.lastUsedAt <= cutoff) void this.remove(id);
    if (this.entries.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** An idle worker still lets its sources go after `idleMs`. */
  private startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.expireIdle(), Math.max(1_000, Math.floor(this.options.idleMs / 2)));
    this.sweeper.unref();
  }

  private async remove(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    await rm(entry.file, { force: true }).catch(() => undefined);
  }
}

const entryId = (key: CachedSourceKey): string => JSON.stringify([key.jobId, key.planId, key.identity]);

/** A hard link (same temp volume, no bytes copied); a copy where links are refused. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to);
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}
