import assert from "node:assert/strict";
import { test } from "node:test";
import { outputKey, outputLayout } from "../../src/storage/output-keys.ts";

/** The output key layout's seed naming (src/storage/output-keys.ts); the full rules are in output-layout.test.ts. */

const layout = outputLayout("tenants/t1/users/u1/media/1700000000-abc-photo.jpg", "processed", "0123abcd");

test("a flat output follows the seed naming: …/processed/<source>.<run>_<name>", () => {
  assert.equal(
    outputKey(layout, "thumb_small.webp"),
    "tenants/t1/users/u1/media/processed/1700000000-abc-photo.jpg.0123abcd_thumb_small.webp",
  );
});

test("a nested output lives in the run's folder: …/processed/<source>.<run>/<path>", () => {
  assert.equal(
    outputKey(layout, "hls/master.m3u8"),
    "tenants/t1/users/u1/media/processed/1700000000-abc-photo.jpg.0123abcd/hls/master.m3u8",
  );
});

test("an output name that climbs out of the layout is refused", () => {
  assert.throws(() => outputKey(layout, "../escape.jpg"));
  assert.throws(() => outputKey(layout, "hls/../../x"));
});
