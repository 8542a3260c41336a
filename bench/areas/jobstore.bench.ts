import { Redis } from "ioredis";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../src/dev/free-port.ts";
import { RedisServerProcess } from "../../src/dev/redis-server.ts";
import { isRunning, killOnExit } from "../../src/dev/stop-on-exit.ts";
import { JOB_STATUSES } from "../../src/jobs/job.model.ts";
import { JobStore } from "../../src/jobs/job.store.ts";
import type { BenchContext } from "../lib/context.ts";
import { loadSyntheticJobs, prng, tenantNames, type SeededJob } from "../lib/jobstore-records.ts";
import type { AreaReport, Figure, RatioFigure } from "../lib/report.ts";

/**
 * The job store at fleet size (issue 18): for each size (100,000 and 1,000,000 jobs by
 * default), a fresh redis-server is filled with synthetic jobs of real record shape through
 * the store's own scripts, spread over six days, and the real API (`node src/cli.ts api`, its
 * own process; this one is the client; stats cache off) answers: list for every filter combination (status × type × tenant), first
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

/** `node src/cli.ts api` with this environment, once /readyz answers; stop() sends SIGTERM and waits. */
async function startApiProcess(env: Record<string, string>, port: number): Promise<{ stop(): Promise<void> }> {
  // Gone with the bench however it ends (an interrupted bench left its API processes behind).
  const child = killOnExit(
    spawn(process.execPath, ["src/cli.ts", "api"], {
      cwd: path.resolve(import.meta.dirname, "../.."),
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "inherit"],
    }),
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (let attempt = 0; ; attempt += 1) {
    if (!isRunning(child)) throw new Error(`the API exited with ${child.exitCode}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (attempt > 300) throw new Error("the API did not become ready in 60 s");
    await sleep(200);
  }
  return {
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One loaded size: its Redis, its API process, and the rows to time against it. */
interface Instance {
  size: number;
  redisServer: RedisServerProcess;
  redis: Redis;
  api: { stop(): Promise<void> };
  get: (path: string) => Promise<string>;
  rows: Row[];
}

export async function benchJobStore(context: BenchContext): Promise<AreaReport> {
  const { settings, log } = context;
  const { sizes, samples, tenants: tenantCount } = settings.jobstore;
  const results = new Map<string, Map<number, { p50: number; p95: number }>>();
  const memory = new Map<number, { bytesPerJob: number; usedMiB: number; loadSec: number; keys: number }>();
  const rowKinds = new Map<string, Row["kind"]>();
  const instances: Instance[] = [];
  try {
    // Every size is loaded first and stays up: the sizes are then timed side by side, request for
    // request, so the machine's load (it is shared) weighs on each alike and the ratio is fair.
    for (const size of sizes) instances.push(await loadInstance(context, size, tenantCount, memory));
    // One request of every row for every size per round, in a shuffled order.
    const timings = new Map<Row, number[]>(
      instances.flatMap((instance) => instance.rows.map((row) => [row, []] as [Row, number[]])),
    );
    const randoms = new Map<Row, () => number>(
      instances.flatMap((instance) =>
        instance.rows.map((row, index) => [row, prng(1234 + index)] as [Row, () => number]),
      ),
    );
    const order = prng(99);
    for (let round = 0; round < samples + 5; round += 1) {
      const pairs = instances.flatMap((instance) =>
        instance.rows.filter((row) => !row.laterPage || round % 2 === 0).map((row) => ({ instance, row })),
      );
      pairs.sort(() => order() - 0.5);
      for (const { instance, row } of pairs) {
        const time = await timeRow(row, randoms.get(row)!, instance.get);
        // The first rounds warm connections and caches up; they are not counted.
        if (time !== undefined && round >= 5) timings.get(row)!.push(time);
      }
      if (round % 25 === 0) log(`jobstore: round ${round} of ${samples + 5}`);
    }
    for (const instance of instances) {
      for (const row of instance.rows) {
        rowKinds.set(row.label, row.kind);
        const times = timings.get(row)!;
        if (times.length === 0) {
          log(
            `jobstore @${instance.size.toLocaleString("en")}: ${row.label}: no filter value has that many pages here`,
          );
          continue;
        }
        const figures = results.get(row.label) ?? new Map<number, { p50: number; p95: number }>();
        figures.set(instance.size, { p50: percentile(times, 50), p95: percentile(times, 95) });
        results.set(row.label, figures);
        log(
          `jobstore @${instance.size.toLocaleString("en")}: ${row.label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (n=${times.length})`,
        );
      }
    }
  } finally {
    for (const instance of instances) {
      await instance.api.stop().catch(() => undefined);
      instance.redis.disconnect();
      await instance.redisServer.destroy();
    }
  }
  return report(sizes, results, rowKinds, memory, samples, tenantCount);
}

/** What a loaded size needs besides its data: kept next to a snapshot so a reuse reports the same figures. */
interface LoadedFacts {
  /** The clock the jobs were spread back from (the time-window rows are relative to it). */
  now: number;
  bytesPerJob: number;
  usedMiB: number;
  loadSec: number;
  keys: number;
  sample: SeededJob[];
}

/**
 * Loaded data sets are kept as Redis snapshots (`dump.rdb`) under the input cache, keyed by size
 * and by a hash of the loader and the store's scripts, so a re-run measures without loading a
 * million jobs again (15–45 min). A snapshot older than SNAPSHOT_MAX_AGE_MS is loaded afresh:
 * the jobs carry real expiry times (JOB_STATUS_TTL 7 days over 6 days of history).
 */
const SNAPSHOT_MAX_AGE_MS = 12 * 3_600_000;

async function loaderHash(): Promise<string> {
  const root = path.resolve(import.meta.dirname, "../..");
  const jobsDir = path.join(root, "src/jobs");
  const files = [
    path.join(root, "bench/lib/jobstore-records.ts"),
    ...(await readdir(jobsDir)).sort().map((name) => path.join(jobsDir, name)),
  ];
  const hash = createHash("sha256");
  for (const file of files) hash.update(await readFile(file));
  return hash.digest("hex").slice(0, 12);
}

async function readSnapshot(dir: string): Promise<LoadedFacts | undefined> {
  const facts = await readFile(path.join(dir, "facts.json"), "utf8").then(
    (text) => JSON.parse(text) as LoadedFacts,
    () => undefined,
  );
  const hasData = await stat(path.join(dir, "dump.rdb")).then(
    (info) => info.isFile(),
    () => false,
  );
  return facts && hasData && Date.now() - facts.now < SNAPSHOT_MAX_AGE_MS ? facts : undefined;
}

/** A redis-server with `size` synthetic jobs (from a fresh snapshot, or loaded and snapshotted), its memory measured, and the API in front of it. */
async function loadInstance(
  context: BenchContext,
  size: number,
  tenantCount: number,
  memory: Map<number, { bytesPerJob: number; usedMiB: number; loadSec: number; keys: number }>,
): Promise<Instance> {
  const { stack, log, settings } = context;
  const tenants = tenantNames(tenantCount);
  const snapshotDir = path.join(
    settings.inputDir,
    "jobstore-snapshots",
    `${size}-${tenantCount}-${await loaderHash()}`,
  );
  const reused = await readSnapshot(snapshotDir);
  if (!reused) await rm(snapshotDir, { recursive: true, force: true });
  await mkdir(snapshotDir, { recursive: true });
  const redisServer = await RedisServerProcess.start(undefined, { dataDir: snapshotDir });
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, enableAutoPipelining: true });
  let facts: LoadedFacts;
  if (reused) {
    facts = reused;
    log(
      `jobstore: ${size.toLocaleString("en")} jobs from the snapshot made ${((Date.now() - reused.now) / 60_000).toFixed(0)} min ago (${reused.keys} keys; loading them took ${reused.loadSec.toFixed(0)} s)`,
    );
  } else {
    facts = await loadFresh(redis, size, tenants, log);
    await writeFile(path.join(snapshotDir, "facts.json"), JSON.stringify(facts));
  }
  memory.set(size, facts);
  const { now, sample } = facts;

  // The API as deployed: its own process (`node src/cli.ts api`); this process is the client.
  const port = await freePort();
  const api = await startApiProcess(
    {
      ...stack.workerEnv(),
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: "mp:",
      API_PORT: String(port),
      API_TOKEN: TOKEN,
      // Measure the counters, not the cache in front of them.
      API_STATS_CACHE: "0",
      JOB_SWEEP_INTERVAL: "3600",
      LOG_LEVEL: "warn",
    },
    port,
  );
  const base = `http://127.0.0.1:${port}`;
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
    if (names.includes("tenant"))
      params.set("tenant", tenants[Math.min(tenants.length - 1, Math.floor(tenants.length * random() ** 3))]!);
    return params;
  };
  const pick = (random: () => number): SeededJob => sample[Math.floor(random() * sample.length)]!;
  const rows: Row[] = [
    ...COMBINATIONS.flatMap((names): Row[] => {
      const label = names.length === 0 ? "list (no filter)" : `list ${names.join("×")}`;
      return [
        {
          label: `${label}, first page`,
          kind: "list",
          path: (random) => `/api/media/jobs?${filterQuery(names, random)}`,
        },
        {
          label: `${label}, page ${LATER_PAGE}`,
          kind: "list",
          laterPage: true,
          path: (random) => `/api/media/jobs?${filterQuery(names, random)}`,
        },
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
    {
      label: "search by exact key",
      kind: "list",
      path: (random) => `/api/media/jobs?key=${encodeURIComponent(pick(random).key)}&limit=${LIST_LIMIT}`,
    },
    {
      label: "search by key prefix (a tenant's)",
      kind: "list",
      path: (random) =>
        `/api/media/jobs?keyPrefix=${encodeURIComponent(`tenants/${pick(random).tenantId}/users/u1`)}&limit=${LIST_LIMIT}`,
    },
    {
      label: "get job (with timeline and result)",
      kind: "get",
      path: (random) => `/api/media/jobs/${pick(random).id}`,
    },
    { label: "GET /healthz (no Redis: the floor of one HTTP round trip here)", kind: "get", path: () => "/healthz" },
    { label: "stats, 60 min window", kind: "stats", path: () => "/api/media/jobs/stats?windowMinutes=60" },
    { label: "stats, 7 day window", kind: "stats", path: () => "/api/media/jobs/stats?windowMinutes=10080" },
  ];
  return { size, redisServer, redis, api, get, rows };
}

/** Loads `size` jobs through the store's scripts into an empty Redis, measures its memory, and saves a snapshot. */
async function loadFresh(
  redis: Redis,
  size: number,
  tenants: string[],
  log: (line: string) => void,
): Promise<LoadedFacts> {
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1] ?? 0);
  await redis.set("warm", "1");
  const baseline = await usedMemory();
  let clock = 0;
  const store = new JobStore(redis, {
    keyPrefix: "mp:",
    statusTtlSec: 7 * 86_400,
    leaseTtlMs: 300_000,
    workerId: "bench-loader",
    clock: () => clock,
  });
  const now = Date.now();
  const loadStarted = Date.now();
  log(`jobstore: loading ${size.toLocaleString("en")} jobs`);
  const sample = await loadSyntheticJobs(
    store,
    redis,
    { tenants, startMs: now - 6 * DAY_MS, spanMs: 6 * DAY_MS - 60_000 },
    size,
    (ms) => (clock = ms),
    {
      onProgress: (done) => {
        if (done % 100_000 === 0) log(`jobstore: ${done.toLocaleString("en")} / ${size.toLocaleString("en")} loaded`);
      },
    },
  );
  const loadSec = (Date.now() - loadStarted) / 1000;
  await redis.del("warm");
  const used = await usedMemory();
  const keys = await redis.dbsize();
  log(
    `jobstore: ${size.toLocaleString("en")} jobs in ${loadSec.toFixed(0)} s, ${(used / 1024 / 1024).toFixed(0)} MiB (${((used - baseline) / size).toFixed(0)} B/job); saving a snapshot`,
  );
  await redis.save();
  return { now, bytesPerJob: (used - baseline) / size, usedMiB: used / 1024 / 1024, loadSec, keys, sample };
}

/**
 * One timed request of a row; for a later page, the pages before it are walked untimed first
 * (a filter drawn with fewer pages is drawn again, up to 50 times). Undefined: no such page.
 */
async function timeRow(
  row: Row,
  random: () => number,
  get: (path: string) => Promise<string>,
): Promise<number | undefined> {
  for (let attempt = 0; attempt < (row.laterPage ? 50 : 1); attempt += 1) {
    const path = row.path(random);
    let cursor: string | null = null;
    if (row.laterPage) {
      let pages = 0;
      do {
        const page = JSON.parse(await get(cursor ? `${path}&cursor=${cursor}` : path)) as { nextCursor: string | null };
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor && pages < LATER_PAGE - 1);
      if (!cursor) continue;
    }
    const started = performance.now();
    await get(cursor ? `${path}&cursor=${cursor}` : path);
    return performance.now() - started;
  }
  return undefined;
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
    if (big && small && largest !== smallest)
      figures.push({
        label: `${label}: p95 @${name(largest)} / p95 @${name(smallest)}`,
        unit: "× (1.00 = flat)",
        runs: [big.p95 / small.p95],
        digits: 2,
      });
    const kind = kinds.get(label);
    if (big && (kind === "list" || kind === "stats"))
      ratios.push({
        label: `${label} @${name(largest)}: 50 ms / p95`,
        runs: [P95_TARGET_MS / big.p95],
        target: { min: 1, text: `p95 ≤ ${P95_TARGET_MS} ms` },
      });
  }
  for (const size of sizes) {
    const measured = memory.get(size)!;
    figures.push({
      label: `Redis memory per job @${name(size)}`,
      unit: "bytes",
      runs: [measured.bytesPerJob],
      digits: 0,
      note: `${measured.usedMiB.toFixed(0)} MiB used, ${measured.keys} keys, loaded in ${measured.loadSec.toFixed(0)} s`,
    });
  }
  const perJob = memory.get(largest)!.bytesPerJob;
  return {
    title: "Job store at fleet size (list, get, stats over HTTP; Redis memory)",
    setup: [
      `sizes ${sizes.map(name).join(" and ")} synthetic jobs of real record shape (86 % completed, 8 % failed, 3 % queued, 2 % cancelled, 1 % processing; image/video/audio/document; ${tenantCount} tenants Zipf-spread), written through the store's scripts and spread over 6 days`,
      `each row: ${samples} requests (later pages ${Math.floor(samples / 2)}, drawn among the filter values that have that many pages) to the real API (its own process) over HTTP with random filter values, limit ${LIST_LIMIT}, stats cache off; every size stays loaded and the sizes and rows are timed side by side, round by round in a shuffled order, so the shared machine's load weighs on each alike; p50/p95 in ms, including Express and JSON`,
    ],
    figures,
    ratios,
    notes: [
      `Redis used ${perJob.toFixed(0)} bytes per job at ${name(largest)} jobs: ${((perJob * 1_000_000) / 1024 ** 3).toFixed(2)} GiB per million jobs (JOB_STATUS_TTL bounds how many are kept).`,
    ],
  };
}
