import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JOB_STATUSES, jobIdFor, type JobSource, type JobStatus } from "../../src/jobs/job.model.ts";
import type { JobListItem, ListCursor, ListQuery } from "../../src/jobs/job.store.ts";
import { countCommands, startStoreHarness, type StoreHarness, type TestStore } from "../helpers/redis-store.ts";

/**
 * Listing, key search and the sweep against a real redis-server: every filter combination
 * answers exactly the jobs that match (checked against the records themselves), pages by cursor
 * without gaps or repeats, reads no timeline, and after JOB_STATUS_TTL every index entry is gone
 * with its job, so the key count returns to its baseline.
 */
interface Seeded {
  id: string;
  status: JobStatus;
  type: string;
  tenantId: string | undefined;
  createdAtMs: number;
  key: string;
}

const TYPES = ["image", "video", "audio"];
const TENANTS = ["acme", "globex", undefined];

/** Drives each job through the real scripts to a status, one millisecond (or several at once) apart. */
async function seed(t: TestStore, count: number): Promise<Seeded[]> {
  const jobs: Seeded[] = [];
  for (let index = 0; index < count; index += 1) {
    // Every fourth job shares its millisecond with the next: cursor ties must not lose or repeat jobs.
    if (index % 4 !== 3) t.advance(1);
    const tenantId = TENANTS[index % 3];
    const key = `tenants/${tenantId ?? "none"}/media/${String(index).padStart(3, "0")}.bin`;
    const source: JobSource = { bucket: "media", key, eTag: `e${index}` };
    const id = jobIdFor(source);
    const status = JOB_STATUSES[index % 5]!;
    const type = status === "queued" ? "pending" : TYPES[index % 3]!;
    if (status === "queued") {
      await t.store.enqueue({ id, source, tenantId, userId: undefined, via: "test" });
    } else {
      const claim = await t.store.claim({ id, source, tenantId, userId: undefined, messageId: `m${index}` });
      await t.store.setType(id, type);
      await t.store.appendTimeline(id, "processing", { step: index });
      if (status === "completed") await t.store.complete(id, claim.leaseToken, { outputs: [{ key: "x" }] }, t.now());
      if (status === "failed")
        await t.store.fail(
          id,
          claim.leaseToken,
          { category: "processing", code: "bad", message: "bad", retryable: false },
          t.now(),
        );
      if (status === "cancelled")
        await t.store.fail(
          id,
          claim.leaseToken,
          { category: "cancelled", code: "cancelled", message: "cancelled", retryable: false },
          t.now(),
        );
    }
    jobs.push({ id, status, type, tenantId, createdAtMs: t.now(), key });
  }
  return jobs;
}

/** What a list must answer: newest first, ties by id descending (Redis's reverse lexical order). */
function expected(jobs: Seeded[], query: Omit<ListQuery, "limit" | "cursor">): string[] {
  return jobs
    .filter(
      (job) =>
        (!query.status || job.status === query.status) &&
        (!query.type || job.type === query.type) &&
        (query.tenantId === undefined || job.tenantId === query.tenantId),
    )
    .filter(
      (job) =>
        (query.since === undefined || job.createdAtMs >= query.since) &&
        (query.until === undefined || job.createdAtMs <= query.until),
    )
    .sort((a, b) => b.createdAtMs - a.createdAtMs || (a.id < b.id ? 1 : -1))
    .map((job) => job.id);
}

async function allPages(
  t: TestStore,
  query: Omit<ListQuery, "limit" | "cursor">,
  limit: number,
): Promise<{ ids: string[]; pages: number; items: JobListItem[] }> {
  const items: JobListItem[] = [];
  let cursor: ListCursor | undefined;
  let pages = 0;
  do {
    const page = await t.store.list({ ...query, limit, ...(cursor ? { cursor } : {}) });
    items.push(...page.jobs);
    cursor = page.nextCursor;
    pages += 1;
    assert.ok(pages < 200, "paging terminates");
  } while (cursor);
  return { ids: items.map((job) => job.id), pages, items };
}

describe("job queries and the sweep (real Redis)", () => {
  let h: StoreHarness;
  let t: TestStore;
  let jobs: Seeded[];
  before(async () => {
    h = await startStoreHarness();
    t = h.store();
    jobs = await seed(t, 90);
  });
  after(async () => {
    await h.stop();
  });

  test("every combination of status, type and tenant lists exactly its jobs, newest first, through every page", async () => {
    let combinations = 0;
    for (const status of [undefined, ...JOB_STATUSES]) {
      for (const type of [undefined, "pending", ...TYPES]) {
        for (const tenantId of [undefined, "acme", "globex"]) {
          const query = { ...(status ? { status } : {}), ...(type ? { type } : {}), ...(tenantId ? { tenantId } : {}) };
          const { ids } = await allPages(t, query, 7);
          assert.deepEqual(ids, expected(jobs, query), JSON.stringify(query));
          combinations += 1;
        }
      }
    }
    assert.equal(combinations, 6 * 5 * 3);
  });

  test("a time window and a cursor combine; pages never repeat or skip a job, also across ties in one millisecond", async () => {
    const since = jobs[10]!.createdAtMs;
    const until = jobs[70]!.createdAtMs;
    const { ids, pages } = await allPages(t, { since, until }, 4);
    assert.deepEqual(ids, expected(jobs, { since, until }));
    assert.ok(pages > 10);
    assert.equal(new Set(ids).size, ids.length);
    const inverted = await t.store.list({ since: until, until: since, limit: 10 });
    assert.deepEqual(inverted.jobs, []);
  });

  test("listed jobs carry their summary fields, and a list reads no timeline and no result", async () => {
    const calls = await countCommands(h.redis, () => t.store.list({ status: "failed", limit: 50 }));
    assert.equal(calls.lrange, undefined, JSON.stringify(calls));
    assert.equal(calls.hgetall, undefined);
    const page = await t.store.list({ status: "failed", tenantId: "acme", limit: 1 });
    const job = page.jobs[0]!;
    const seeded = jobs.find((candidate) => candidate.id === job.id)!;
    assert.deepEqual(
      [job.status, job.type, job.tenantId, job.source.key, job.error?.code, job.attempts],
      ["failed", seeded.type, "acme", seeded.key, "bad", 1],
    );
    assert.equal("timeline" in job || "result" in job, false);
  });

  test("search by source key: exact (every version of it), by prefix in key order, with filters, paged", async () => {
    const key = jobs[5]!.key;
    const second = { bucket: "media", key, eTag: "a-new-version" };
    await t.store.enqueue({
      id: jobIdFor(second),
      source: second,
      tenantId: jobs[5]!.tenantId,
      userId: undefined,
      via: "test",
    });
    const exact = await t.store.searchByKey({ key, limit: 10 });
    assert.deepEqual(exact.jobs.map((job) => job.id).sort(), [jobs[5]!.id, jobIdFor(second)].sort());
    assert.equal(exact.resumeAfter, undefined);
    assert.deepEqual(
      (await t.store.searchByKey({ key: `${key}x`, limit: 10 })).jobs,
      [],
      "a longer key is another key",
    );

    const prefix = "tenants/acme/media/0";
    const want = jobs
      .filter((job) => job.key.startsWith(prefix))
      .map((job) => job.key)
      .sort();
    const got: string[] = [];
    let after: string | undefined;
    do {
      const page = await t.store.searchByKey({
        keyPrefix: prefix,
        limit: 3,
        ...(after !== undefined ? { after } : {}),
      });
      got.push(...page.jobs.map((job) => job.source.key));
      after = page.resumeAfter;
    } while (after !== undefined);
    assert.deepEqual(got, want);
    const failedOnly = await t.store.searchByKey({
      keyPrefix: "tenants/",
      status: "failed",
      tenantId: "globex",
      limit: 100,
    });
    assert.deepEqual(
      failedOnly.jobs.map((job) => job.id).sort(),
      jobs
        .filter((job) => job.status === "failed" && job.tenantId === "globex")
        .map((job) => job.id)
        .sort(),
    );
  });

  test("after JOB_STATUS_TTL the sweep removes every job with every index entry and gauge: the key count returns to its baseline", async () => {
    const s = h.store({ statusTtlSec: 60 });
    const baseline = await s.keys();
    await seed(s, 40);
    assert.ok((await s.keys()).length > baseline.length + 40);
    s.advance(30_000);
    assert.equal(await s.store.sweep(), 0, "nothing is due before the TTL");
    s.advance(31_000);
    let removed = 0;
    for (let count = await s.store.sweep(15); count > 0; count = await s.store.sweep(15)) removed += count;
    assert.equal(removed, 40);
    const left = await s.keys();
    // Only the time-bucketed counters stay, each with its own Redis expiry (they are per minute/hour, not per job).
    const nonCounters = left.filter((key) => !/:stats:[mh]:\d+$/.test(key));
    assert.deepEqual(nonCounters, [`${s.prefix}stats:now`]);
    assert.deepEqual(
      Object.values(await h.redis.hgetall(`${s.prefix}stats:now`)).filter((value) => value !== "0"),
      [],
      "every gauge back to zero",
    );
    for (const key of left.filter((name) => name !== `${s.prefix}stats:now`))
      assert.ok((await h.redis.pttl(key)) > 0, `${key} expires by itself`);
    assert.deepEqual(await s.store.list({ limit: 10 }), { jobs: [], nextCursor: undefined });
  });

  test("a job changed after it was created lives a full TTL from its last change", async () => {
    const s = h.store({ statusTtlSec: 60 });
    const source: JobSource = { bucket: "media", key: "late/change.png", eTag: "e" };
    const id = jobIdFor(source);
    await s.store.enqueue({ id, source, tenantId: undefined, userId: undefined, via: "test" });
    s.advance(50_000);
    await s.store.requestCancel(id);
    s.advance(20_000);
    assert.equal(await s.store.sweep(), 0, "70 s after creation but 20 s after its last change");
    s.advance(41_000);
    assert.equal(await s.store.sweep(), 1);
    assert.equal(await s.store.get(id), undefined);
  });
});
