import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ChunkSourceCache, type CachedSourceKey } from "../../src/pipeline/chunked/source-cache.ts";

/** The kept sources of chunked videos on real files: one download per job and worker, bounded, expiring. */
describe("chunk source cache", () => {
  let dir: string;
  let clock = 0;
  let tasks = 0;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-source-cache-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const key = (jobId: string, identity = "etag-1"): CachedSourceKey => ({ jobId, planId: "plan-1", identity });
  const cacheOf = (name: string, maxEntries = 2, idleMs = 60_000) =>
    new ChunkSourceCache({ dir: path.join(dir, name), maxEntries, idleMs, now: () => clock });
  /** A task's work dir target and a download that writes `bytes` and counts itself. */
  const task = () => path.join(dir, `task-${tasks++}-input`);
  const downloader = (bytes: string) => {
    const calls: string[] = [];
    return {
      calls,
      download: async (file: string) => {
        calls.push(file);
        await writeFile(file, bytes);
      },
    };
  };
  const kept = async (name: string) => (await readdir(path.join(dir, name)).catch(() => [])).length;

  test("the second task of a job gets the kept bytes without a download; another version is downloaded", async () => {
    const cache = cacheOf("reuse");
    const source = downloader("planned bytes");
    const first = await cache.provide(key("j1"), task(), source.download);
    first.release();
    const target = task();
    const second = await cache.provide(key("j1"), target, source.download);
    assert.equal(first.cached, false);
    assert.equal(second.cached, true);
    assert.equal(source.calls.length, 1);
    assert.equal(await readFile(target, "utf8"), "planned bytes");
    second.release();
    const replaced = await cache.provide(key("j1", "etag-2"), task(), downloader("new bytes").download);
    assert.equal(replaced.cached, false, "a new version of the object is not the kept one");
    replaced.release();
    await cache.close();
  });

  test("tasks of one job arriving together share one download", async () => {
    const cache = cacheOf("together");
    const source = downloader("shared");
    const targets = [task(), task(), task()];
    const provided = await Promise.all(targets.map((target) => cache.provide(key("j2"), target, source.download)));
    assert.equal(source.calls.length, 1);
    assert.deepEqual(
      provided.map((each) => each.cached),
      [false, true, true],
    );
    for (const target of targets) assert.equal(await readFile(target, "utf8"), "shared");
    for (const each of provided) each.release();
    await cache.close();
  });

  test("a failed download keeps nothing: a task waiting on it, and the next task, download again", async () => {
    const cache = cacheOf("failed");
    let calls = 0;
    const flaky = async (file: string) => {
      calls += 1;
      if (calls === 1) {
        await writeFile(file, "half");
        throw new Error("connection reset");
      }
      await writeFile(file, "whole");
    };
    const [failed, waiting] = await Promise.allSettled([
      cache.provide(key("j3"), task(), flaky),
      cache.provide(key("j3"), task(), flaky),
    ]);
    assert.equal(failed.status, "rejected");
    assert.equal(waiting.status, "fulfilled");
    assert.equal((waiting as PromiseFulfilledResult<{ cached: boolean }>).value.cached, false, "it downloaded itself");
    const target = task();
    const next = await cache.provide(key("j3"), target, flaky);
    assert.equal(next.cached, true);
    assert.equal(await readFile(target, "utf8"), "whole");
    assert.equal(calls, 2);
    assert.equal(await kept("failed"), 1, "the half file was removed");
    await cache.close();
  });

  test("at most maxEntries sources are kept; one in use is never removed, and a task's link outlives its entry", async () => {
    const cache = cacheOf("bounded", 1);
    const a = await cache.provide(key("a"), task(), downloader("a").download);
    const bTarget = task();
    const b = await cache.provide(key("b"), bTarget, downloader("b").download);
    assert.equal(cache.size, 2, "both in use: neither may go");
    a.release();
    assert.equal(cache.size, 1, "released over the bound: the unused one goes");
    b.release();
    const c = await cache.provide(key("c"), task(), downloader("c").download);
    c.release();
    assert.equal(cache.size, 1);
    assert.equal(await kept("bounded"), 1);
    assert.equal(await readFile(bTarget, "utf8"), "b", "the task's hard link still reads its bytes");
    await cache.close();
  });

  test("a job downloading its own input takes a kept source's room: kept sources + running jobs stay within the slots", async () => {
    const cache = cacheOf("reserved", 2);
    (await cache.provide(key("a"), task(), downloader("a").download)).release();
    (await cache.provide(key("b"), task(), downloader("b").download)).release();
    assert.equal(cache.size, 2);
    const firstJob = cache.reserve();
    assert.equal(cache.size, 1, "the least recently used kept source made room");
    const target = task();
    const b = await cache.provide(key("b"), target, downloader("b again").download);
    assert.equal(b.cached, true, "the more recent one was kept");
    const secondJob = cache.reserve();
    assert.equal(cache.size, 1, "an entry in use is never removed, even over the bound");
    b.release();
    assert.equal(cache.size, 0, "released over the bound: it goes");
    firstJob();
    secondJob();
    secondJob();
    (await cache.provide(key("c"), task(), downloader("c").download)).release();
    (await cache.provide(key("d"), task(), downloader("d").download)).release();
    assert.equal(cache.size, 2, "reservations ended (once each): the full bound again");
    await cache.close();
  });

  test("an unused source goes after idleMs; drop(job) removes a job's sources at once", async () => {
    const cache = cacheOf("idle", 4, 1_000);
    clock = 0;
    (await cache.provide(key("old"), task(), downloader("old").download)).release();
    (await cache.provide(key("done"), task(), downloader("done").download)).release();
    await cache.drop("done");
    assert.equal(cache.size, 1);
    clock = 1_500;
    const source = downloader("fresh");
    const fresh = await cache.provide(key("old"), task(), source.download);
    assert.equal(fresh.cached, false, "expired after a second unused");
    fresh.release();
    await cache.close();
    assert.equal(cache.size, 0);
    assert.equal(await kept("idle"), 0);
  });

  test("the planner's download is adopted: the first task needs no download, and the planner's cleanup does not touch it", async () => {
    const cache = cacheOf("adopt");
    const plannerInput = path.join(dir, "planner-input");
    await writeFile(plannerInput, "as planned");
    assert.equal(await cache.adopt(key("j4"), plannerInput), true);
    await rm(plannerInput);
    const target = task();
    const source = downloader("downloaded");
    const provided = await cache.provide(key("j4"), target, source.download);
    assert.equal(provided.cached, true);
    assert.equal(source.calls.length, 0);
    assert.equal(await readFile(target, "utf8"), "as planned");
    assert.equal((await stat(target)).nlink, 2, "a hard link to the kept file, not a copy");
    provided.release();
    await cache.close();
  });
});
