import assert from "node:assert/strict";
import { test } from "node:test";
import { isSameVersion } from "../../src/pipeline/publish-outputs.ts";
import { redactTempPaths } from "../../src/pipeline/temp-dirs.ts";

const where = {
  tempRoot: "/tmp/media-processor/worker-1",
  workDir: "/tmp/media-processor/worker-1/0123abcd-5f5f5f5f",
  sourceKey: "tenants/t1/users/u1/media/photo.avif",
};

test("error messages name the source key, never the worker's temp paths", () => {
  assert.equal(
    redactTempPaths(
      "Input file has corrupt header: /tmp/media-processor/worker-1/0123abcd-5f5f5f5f/input: bad seek to 1024\n/tmp/media-processor/worker-1/0123abcd-5f5f5f5f/input: bad seek to 512",
      where,
    ),
    "Input file has corrupt header: tenants/t1/users/u1/media/photo.avif: bad seek to 1024\ntenants/t1/users/u1/media/photo.avif: bad seek to 512",
  );
  assert.equal(
    redactTempPaths(
      `VipsForeignLoad: "/tmp/media-processor/worker-1/0123abcd-5f5f5f5f/input" is not a known file format`,
      where,
    ),
    `VipsForeignLoad: "tenants/t1/users/u1/media/photo.avif" is not a known file format`,
  );
  // Other files of the job keep only their name inside the job dir; anything else under the temp root is dropped.
  assert.equal(
    redactTempPaths(
      "could not open /tmp/media-processor/worker-1/0123abcd-5f5f5f5f/hls/720p/index.m3u8 (EACCES)",
      where,
    ),
    "could not open hls/720p/index.m3u8 (EACCES)",
  );
  assert.equal(
    redactTempPaths("profile file:///tmp/media-processor/worker-1/0123abcd-5f5f5f5f/office/profile locked", where),
    "profile office/profile locked",
  );
  assert.equal(
    redactTempPaths("left /tmp/media-processor/worker-2/other-job/input behind", where),
    "left <temp> behind",
  );
  // A sibling dir whose name merely starts the same is not ours to rewrite, but is still under the temp root.
  assert.equal(redactTempPaths("/tmp/media-processor/worker-1/0123abcd-5f5f5f5fX/input", where), "<temp>");
  assert.equal(redactTempPaths("no paths here: ffmpeg exited 1", where), "no paths here: ffmpeg exited 1");
});

test("a run is current while the source still has the version it processed", () => {
  assert.equal(isSameVersion({ eTag: '"e1"', versionId: undefined }, { eTag: "e1", versionId: undefined }), true);
  assert.equal(isSameVersion({ eTag: "e1", versionId: undefined }, { eTag: "e2", versionId: undefined }), false);
  assert.equal(
    isSameVersion({ eTag: "e1", versionId: "v1" }, { eTag: "e1", versionId: "v2" }),
    false,
    "same bytes, newer version",
  );
  assert.equal(
    isSameVersion({ eTag: "e1", versionId: "null" }, { eTag: "e2", versionId: "null" }),
    false,
    '"null" is no version: compare ETags',
  );
  assert.equal(isSameVersion({ eTag: "e1", versionId: "v1" }, { eTag: "e1", versionId: "v1" }), true);
});
