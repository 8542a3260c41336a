import { Redis } from "ioredis";
import { loadApiConfig } from "../../src/config/config.ts";
import { RedisServerProcess } from "../../src/dev/redis-server.ts";
import { JOB_STATUSES } from "../../src/jobs/job.model.ts";
import { JobStore } from "../../src/jobs/job.store.ts";
import { createLogger } from "../../src/logger.ts";
import { startApiServer } from "../../src/api-server.ts";
import type { BenchContext } from "../lib/context.ts";
import { loadSyntheticJobs, prng, tenantNames, type SeededJob } from "../lib/jobstore-records.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";

/**
 * The job store at fleet size (issue 18): for each size (100,000 and 1,000,000 jobs by
 * default), a fresh redis-server is filled with synthetic jobs of real record shape through
 * the store's own scripts, spread over six days, and the real API (in this process, over HTTP,
 * stats cache off) answers: list for every filter combination (status × type × tenant), first
 * page and a later page reached by cursor, a time window, key search, get, and stats. Each row
 * is the p50/p95 of many requests with random filter values; the memory row is Redis's
 * used_memory growth per job. Targets: list and stats p95 ≤ 50 ms at the largest size, and
 * latency flat from the smallest to the largest (the ratio rows).
 */
const DAY_MS = 86_400_000;
const TOKEN = "bench-token-0123456789abcdef";
const LIST_LIMIT = 50;
/** The later page measured is this many pages in (the cursors before it are fetched untimed). */
const LATER_PAGE = 5;
const P95_TARGET_MS = 50;

interface Row {
  label: string;
  /** The request's path and query, with its own random filter values. */
  path: (random: () => number) => string;
  /** Time page LATER_PAGE of the list, reached by cursor (the pages before it untimed). */
  laterPage?: boolean;
  kind: "list" | "stats" | "get";
}

const COMBINATIONS = [
  [],
  ["status"],
  ["type"],
  ["tenant"],
  ["status", "type"],
  ["status", "tenant"],
  ["type", "tenant"],
  ["status", "type", "tenant"],
] as const;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export async function benchJobStore(context: BenchContext): Promise<AreaReport> {
  const { settings, stack, log } = context;
  const { sizes, samples, tenants: tenantCount } = settings.jobstore;
  const tenants = tenantNames(tenantCount);
  const results = new Map<string, Map<number, { p50: number; p95: number }>>();
  const memory = new Map<number, { bytesPerJob: number; usedMiB: number; loadSec: number; keys: number }>();
  const rowKinds = new Map<string, Row["kind"]>();

  for (const size of sizes) {
    const redisServer = await RedisServerProcess.start();
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, enableAutoPipelining: true });
    try {
      const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
      await redis.set("warm", "1");
      const baseline = await usedMemory();
      let clock = 0;
      const store = new JobStore(redis, { keyPrefix: "mp:", statusTtlSec: 7 * 86_400, leaseTtlMs: 300_000, workerId: "bench-loader", clock: () => clock });
      const now = Date.now();
      const loadStarted = Date.now();
      log(`jobstore: loading ${size.toLocaleString("en")} jobs`);
      const sample = await loadSyntheticJobs(store, redis, { tenants, startMs: now - 6 * DAY_MS, spanMs: 6 * DAY_MS - 60_000 }, size, (ms) => (clock = ms), {
        onProgress: (done) => {
          if (done % 100_000 === 0) log(`jobstore: ${done.toLocaleString("en")} / ${size.toLocaleString("en")} loaded`);
        },
      });
      const loadSec = (Date.now() - loadStarted) / 1000;
      await redis.del("warm");
      const used = await usedMemory();
      memory.set(size, { bytesPerJob: (used - baseline) / size, usedMiB: used / 1024 / 1024, loadSec, keys: await redis.dbsize() });
      log(`jobstore: ${size.toLocaleString("en")} jobs in ${loadSec.toFixed(0)} s, ${(used / 1024 / 1024).toFixed(0)} MiB (${((used - baseline) / size).toFixed(0)} B/job)`);

      const config = loadApiConfig({
        ...stack.workerEnv(),
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: "mp:",
        API_PORT: "0",
        API_TOKEN: TOKEN,
        // Measure the counters, not the cache in front of them.
        API_STATS_CACHE: "0",
        JOB_SWEEP_INTERVAL: "3600",
        LOG_LEVEL: "warn",
      });
      const api = await startApiServer(config, { logger: createLogger("warn", { role: "api" }) });
      const base = `http://127.0.0.1:${api.port}`;
      const get = async (path: string): Promise<string> => {
        const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`${path}: ${response.status} ${text.slice(0, 200)}`);
        return text;
      };
      const types = ["image", "video", "audio", "document"];
      const filterQuery = (names: readonly string[], random: () => number) => {
        const params = new URLSearchParams({ limit: String(LIST_LIMIT) });
        if (names.includes("status")) params.set("status", JOB_STATUSES[Math.floor(random() * JOB_STATUSES.length)]!);
        if (names.includes("type")) params.set("type", types[Math.floor(random() * types.length)]!);
        if (names.includes("tenant")) params.set("tenant", tenants[Math.min(tenants.length - 1, Math.floor(tenants.length * random() ** 3))]!);
        return params;
      };
      const pick = (random: () => number): SeededJob => sample[Math.floor(random() * sample.length)]!;
      const rows: Row[] = [
        ...COMBINATIONS.flatMap((names): Row[] => {
          const label = names.length === 0 ? "list (no filter)" : `list ${names.join("×")}`;
          return [
            { label: `${label}, first page`, kind: "list", path: (random) => `/api/media/jobs?${filterQuery(names, random)}` },
            { label: `${label}, page ${LATER_PAGE}`, kind: "list", laterPage: true, path: (random) => `/api/media/jobs?${filterQuery(names, random)}` },
          ];
        }),
        {
          label: "list status×tenant, last 24 h window",
          kind: "list",
          path: (random) => {
            const params = filterQuery(["status", "tenant"], random);
            params.set("since", new Date(now - DAY_MS).toISOString());
            return `/api/media/jobs?${params}`;
          },
        },
        { label: "search by exact key", kind: "list", path: (random) => `/api/media/jobs?key=${encodeURIComponent(pick(random).key)}&limit=${LIST_LIMIT}` },
        { label: "search by key prefix (a tenant's)", kind: "list", path: (random) => `/api/media/jobs?keyPrefix=${encodeURIComponent(`tenants/${pick(random).tenantId}/users/u1`)}&limit=${LIST_LIMIT}` },
        { label: "get job (with timeline and result)", kind: "get", path: (random) => `/api/media/jobs/${pick(random).id}` },
        { label: "stats, 60 min window", kind: "stats", path: () => "/api/media/jobs/stats?windowMinutes=60" },
        { label: "stats, 7 day window", kind: "stats", path: () => "/api/media/jobs/stats?windowMinutes=10080" },
      ];
      try {
        for (const row of rows) {
          rowKinds.set(row.label, row.kind);
          const random = prng(1234);
          const times: number[] = [];
          const count = row.laterPage ? Math.max(20, Math.floor(samples / 2)) : samples;
          let misses = 0;
          for (let index = 0; index < count + 5; index += 1) {
            const path = row.path(random);
            let cursor: string | null = null;
            if (row.laterPage) {
              // Walk to the page untimed; a filter with fewer pages is drawn again.
              let pages = 0;
              do {
                const page = JSON.parse(await get(cursor ? `${path}&cursor=${cursor}` : path)) as { nextCursor: string | null };
                cursor = page.nextCursor;
                pages += 1;
              } while (cursor && pages < LATER_PAGE - 1);
              if (!cursor) {
                // Rare combinations (processing × type × a small tenant) have fewer pages.
                if ((misses += 1) < count * 50) index -= 1;
                continue;
              }
            }
            const started = performance.now();
            await get(cursor ? `${path}&cursor=${cursor}` : path);
            // The first few warm connections and caches up; they are not counted.
            if (index >= 5) times.push(performance.now() - started);
          }
          const figures = results.get(row.label) ?? new Map<number, { p50: number; p95: number }>();
          figures.set(size, { p50: percentile(times, 50), p95: percentile(times, 95) });
          results.set(row.label, figures);
          log(`jobstore @${size.toLocaleString("en")}: ${row.label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (n=${times.length})`);
        }
      } finally {
        await api.stop(1_000);
      }
    } finally {
      redis.disconnect();
      await redisServer.destroy();
    }
  }
  return report(sizes, results, rowKinds, memory, samples, tenantCount);
}

function report(
  sizes: number[],
  results: Map<string, Map<number, { p50: number; p95: number }>>,
  kinds: Map<string, Row["kind"]>,
  memory: Map<number, { bytesPerJob: number; usedMiB: number; loadSec: number; keys: number }>,
  samples: number,
  tenantCount: number,
): AreaReport {
  const largest = sizes[sizes.length - 1]!;
  const smallest = sizes[0]!;
  const name = (size: number) => size.toLocaleString("en");
  const figures: Figure[] = [];
  const ratios: RatioFigure[] = [];
  for (const [label, bySize] of results) {
    for (const size of sizes) {
      const figure = bySize.get(size);
      if (!figure) continue;
      figures.push({ label: `${label} @${name(size)} jobs p50`, unit: "ms", runs: [figure.p50], digits: 1 });
      figures.push({ label: `${label} @${name(size)} jobs p95`, unit: "ms", runs: [figure.p95], digits: 1 });
    }
    const big = bySize.get(largest);
    const small = bySize.get(smallest);
    if (big && small && largest !== smallest) figures.push({ label: `${label}: p95 @${name(largest)} / p95 @${name(smallest)}`, unit: "× (1.00 = flat)", runs: [big.p95 / small.p95], digits: 2 });
    const kind = kinds.get(label);
    if (big && (kind === "list" || kind === "stats")) ratios.push({ label: `${label} @${name(largest)}: 50 ms / p95`, runs: [P95_TARGET_MS / big.p95], target: { min: 1, text: `p95 ≤ ${P95_TARGET_MS} ms` } });
  }
  for (const size of sizes) {
    const measured = memory.get(size)!;
    figures.push({ label: `Redis memory per job @${name(size)}`, unit: "bytes", runs: [measured.bytesPerJob], digits: 0, note: `${measured.usedMiB.toFixed(0)} MiB used, ${measured.keys} keys, loaded in ${measured.loadSec.toFixed(0)} s` });
  }
  const perJob = memory.get(largest)!.bytesPerJob;
  return {
    title: "Job store at fleet size (list, get, stats over HTTP; Redis memory)",
    setup: [
      `sizes ${sizes.map(name).join(" and ")} synthetic jobs of real record shape (86 % completed, 8 % failed, 3 % queued, 2 % cancelled, 1 % processing; image/video/audio/document; ${tenantCount} tenants Zipf-spread), written through the store's scripts and spread over 6 days`,
      `each row: ${samples} requests (later pages ${Math.max(20, Math.floor(samples / 2))}, drawn among the filter values that have that many pages) to the real API over HTTP on this machine with random filter values, limit ${LIST_LIMIT}, stats cache off; p50/p95 in ms, including Express and JSON`,
    ],
    figures,
    ratios,
    notes: [
      `Redis used ${perJob.toFixed(0)} bytes per job at ${name(largest)} jobs: ${((perJob * 1_000_000) / 1024 ** 3).toFixed(2)} GiB per million jobs (JOB_STATUS_TTL bounds how many are kept).`,
    ],
  };
}
