import { Redis } from "ioredis";

/**
 * A Redis connection that keeps reconnecting (capped back-off) and fails a command after a few
 * reconnect attempts instead of queueing it forever, so a Redis outage surfaces as errors the
 * worker can act on (keep the message, report not-ready) rather than as hung jobs.
 */
export function createRedisClient(url: string, name: string): Redis {
  return new Redis(url, {
    connectionName: name,
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    lazyConnect: false,
  });
}
