import type { Redis } from "ioredis";

/**
 * Workers register themselves in Redis so the API can count live workers and their capacity,
 * and so a starting worker can tell a dead worker's leftovers from a live one's.
 *   P worker:{folder}   HASH  id, concurrency, inFlight, startedAt, lastSeen, lanes (JSON: slots per lane it
 *                             serves, e.g. {"quick":4,"video":1}) — expires after 3 beats
 *   P workers           ZSET  folder scored by lastSeen
 */
export interface LiveWorker {
  id: string;
  concurrency: number;
  inFlight: number;
  /** Epoch ms. */
  startedAt: number;
  lastSeen: number;
  /** Running slots per lane this worker serves (fair share's lane capacity); {} from a worker predating lanes. */
  lanes?: Record<string, number>;
}

/** What a worker reports on each beat. */
export interface WorkerSnapshot {
  id: string;
  concurrency: number;
  inFlight: number;
  startedAt: number;
  lanes?: Record<string, number>;
}

function parseLanes(text: string | undefined): Record<string, number> {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null) return {};
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === "number"),
    );
  } catch {
    return {};
  }
}

export class WorkerRegistry {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly intervalMs: number;

  constructor(redis: Redis, prefix: string, intervalMs = 10_000) {
    this.redis = redis;
    this.prefix = prefix;
    this.intervalMs = intervalMs;
  }

  async isAlive(folder: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}worker:${folder}`)) === 1;
  }

  /**
   * Workers whose heartbeat hash still exists (it expires after three missed beats), for the
   * API's stats. Read-only: the zset is trimmed by the workers' own beats.
   */
  async alive(): Promise<LiveWorker[]> {
    const folders = await this.redis.zrange(`${this.prefix}workers`, "0", "-1");
    const hashes = await Promise.all(folders.map((folder) => this.redis.hgetall(`${this.prefix}worker:${folder}`)));
    return hashes
      .filter((hash) => hash.id !== undefined)
      .map((hash) => ({
        id: hash.id!,
        concurrency: Number(hash.concurrency ?? 0),
        inFlight: Number(hash.inFlight ?? 0),
        startedAt: Number(hash.startedAt ?? 0),
        lastSeen: Number(hash.lastSeen ?? 0),
        lanes: parseLanes(hash.lanes),
      }));
  }

  async beat(folder: string, snapshot: WorkerSnapshot): Promise<void> {
    const key = `${this.prefix}worker:${folder}`;
    const now = Date.now();
    const { lanes, ...fields } = snapshot;
    await this.redis
      .multi()
      .hset(key, { ...fields, ...(lanes ? { lanes: JSON.stringify(lanes) } : {}), lastSeen: now })
      .pexpire(key, this.intervalMs * 3)
      .zadd(`${this.prefix}workers`, now, folder)
      .zremrangebyscore(`${this.prefix}workers`, "-inf", now - this.intervalMs * 3)
      .exec();
  }

  async remove(folder: string): Promise<void> {
    await this.redis.multi().del(`${this.prefix}worker:${folder}`).zrem(`${this.prefix}workers`, folder).exec();
  }

  /** Starts beating; returns a stop function. */
  start(folder: string, snapshot: () => WorkerSnapshot, onError: (error: unknown) => void): () => void {
    const beat = () => this.beat(folder, snapshot()).catch(onError);
    void beat();
    const timer = setInterval(beat, this.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
