import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { RedisServerProcess } from "../../src/dev/redis-server.ts";
import { JobStore, type JobStoreOptions } from "../../src/jobs/job.store.ts";

/**
 * A real redis-server for job-store tests, and stores on it with a fresh key prefix each (the
 * BullMQ habit), a clock the test moves, and helpers to count keys and commands.
 */
export interface StoreHarness {
  redis: Redis;
  server: RedisServerProcess;
  store(options?: Partial<JobStoreOptions>): TestStore;
  stop(): Promise<void>;
}

export interface TestStore {
  store: JobStore;
  prefix: string;
  /** The store's clock, epoch ms; move it with `advance`. */
  now(): number;
  advance(ms: number): void;
  /** Every key under this store's prefix, sorted. */
  keys(): Promise<string[]>;
  /** Another store on the same prefix and clock: a second worker. */
  peer(workerId: string): JobStore;
}

export async function startStoreHarness(): Promise<StoreHarness> {
  const server = await RedisServerProcess.start();
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  return {
    redis,
    server,
    store(options = {}) {
      const prefix = `t${randomUUID().slice(0, 8)}:`;
      let clock = Date.parse("2030-01-01T00:00:00Z");
      const make = (workerId: string) =>
        new JobStore(redis, {
          keyPrefix: prefix,
          statusTtlSec: 3600,
          leaseTtlMs: 60_000,
          workerId,
          ...options,
          clock: () => clock,
        });
      return {
        store: make(options.workerId ?? "worker-a"),
        prefix,
        now: () => clock,
        advance: (ms) => {
          clock += ms;
        },
        async keys() {
          const found: string[] = [];
          let cursor = "0";
          do {
            const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
            found.push(...batch);
            cursor = next;
          } while (cursor !== "0");
          return found.sort();
        },
        peer: make,
      };
    },
    async stop() {
      redis.disconnect();
      await server.destroy();
    },
  };
}

/** Calls per Redis command since the last reset (INFO commandstats), e.g. { evalsha: 1 }. */
export async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info("commandstats");
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** Commands the block ran (differences of commandCalls), leaving out the INFO/CONFIG of the measuring itself. */
export async function countCommands(redis: Redis, block: () => Promise<unknown>): Promise<Record<string, number>> {
  await redis.config("RESETSTAT");
  await block();
  const calls = await commandCalls(redis);
  delete calls.info;
  delete calls["config|resetstat"];
  delete calls.config;
  return calls;
}

/** Commands the client sent while the block ran (each one a request to Redis), by name. */
export async function sentCommands(redis: Redis, block: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, stream?: unknown) => {
    sent.push(command.name);
    return original(command as Parameters<typeof original>[0], stream as Parameters<typeof original>[1]);
  }) as typeof redis.sendCommand;
  try {
    await block();
  } finally {
    redis.sendCommand = original;
  }
  return sent;
}
