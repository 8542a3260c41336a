import assert from "node:assert/strict";
import { test } from "node:test";
import { SharedCache } from "../../src/api/shared-cache.ts";

test("concurrent callers of one key share one computation, reused for the TTL; a failure is not cached", async () => {
  let now = 1_000;
  const cache = new SharedCache<number>(2_000, () => now);
  let computed = 0;
  let release: (value: number) => void = () => undefined;
  const slow = () => {
    computed += 1;
    return new Promise<number>((resolve) => (release = resolve));
  };
  const callers = [cache.get("stats", slow), cache.get("stats", slow), cache.get("stats", slow)];
  release(42);
  assert.deepEqual(await Promise.all(callers), [42, 42, 42]);
  assert.equal(computed, 1, "one computation for three concurrent callers");
  now += 1_999;
  assert.equal(await cache.get("stats", () => Promise.resolve(7)), 42, "reused within the TTL");
  now += 2;
  assert.equal(await cache.get("stats", () => Promise.resolve(7)), 7, "recomputed after it");
  await assert.rejects(cache.get("other", () => Promise.reject(new Error("redis down"))));
  assert.equal(await cache.get("other", () => Promise.resolve(1)), 1, "the failure was not kept");
});
