import type { Redis } from "ioredis";

/**
 * Workers register themselves in Redis so the API can count live workers and their capacity,
 * and so a starting worker can tell a dead worker's leftovers from a live one's.
 *   P worker:{folder}   HASH  id, concurrency, inFlight, startedAt, lastSeen — expires after 3 beats
 *   P workers           ZSET  folder scored by lastSeen
 */
export interface LiveWorker {
  id: string;
  concurrency: number;
  inFlight: number;
  /** Epoch ms. */
  startedAt: number;
  lastSeen: number;
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
      }));
  }

  async beat(
    folder: string,
    fields: { id: string; concurrency: number; inFlight: number; startedAt: number },
  ): Promise<void> {
    const key = `${this.prefix}worker:${folder}`;
    const now = Date.now();
    await this.redis
      .multi()
      .hset(key, { ...fields, lastSeen: now })
      .pexpire(key, this.intervalMs * 3)
      .zadd(`${this.prefix}workers`, now, folder)
      .zremrangebyscore(`${this.prefix}workers`, "-inf", now - this.intervalMs * 3)
      .exec();
  }

  async remove(folder: string): Promise<void> {
    await this.redis.multi().del(`${this.prefix}worker:${folder}`).zrem(`${this.prefix}workers`, folder).exec();
  }

  /** Starts beating; returns a stop function. */
  start(
    folder: string,
    snapshot: () => { id: string; concurrency: number; inFlight: number; startedAt: number },
    onError: (error: unknown) => void,
  ): () => void {
    const beat = () => this.beat(folder, snapshot()).catch(onError);
    void beat();
    const timer = setInterval(beat, this.intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
