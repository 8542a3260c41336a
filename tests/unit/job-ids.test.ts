import assert from "node:assert/strict";
import { test } from "node:test";
import { jobIdFor } from "../../src/jobs/job.model.ts";

/** Job ids (jobIdFor in src/jobs/job.model.ts): one per PUT of an object, the same for every delivery of it. */

test("a job id is 24 hex digits, the same for a quoted and a bare ETag", () => {
  const a = jobIdFor({ bucket: "b", key: "k", eTag: '"e1"' });
  assert.equal(a, jobIdFor({ bucket: "b", key: "k", eTag: "e1" }));
  assert.match(a, /^[0-9a-f]{24}$/);
});

test("job ids differ across object versions: another ETag or another version id", () => {
  const a = jobIdFor({ bucket: "b", key: "k", eTag: '"e1"' });
  assert.notEqual(a, jobIdFor({ bucket: "b", key: "k", eTag: "e2" }));
  assert.notEqual(a, jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v2" }));
});

test("two PUTs of the same bytes to an unversioned key are two jobs", () => {
  const first = jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407460" });
  const second = jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407461" });
  assert.notEqual(first, second);
});

test("a redelivery of one PUT is the same job", () => {
  const first = jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407460" });
  assert.equal(first, jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "0062E99A88DC407460" }));
});

test('the version id "null" (S3\'s word for an unversioned object) is no version, so the sequencer still tells PUTs apart', () => {
  assert.equal(
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "01" }),
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", sequencer: "01" }),
  );
  assert.notEqual(
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "01" }),
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "null", sequencer: "02" }),
  );
});

test("a real version id names the PUT by itself, whatever the sequencer", () => {
  assert.equal(
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v1", sequencer: "01" }),
    jobIdFor({ bucket: "b", key: "k", eTag: "e1", versionId: "v1", sequencer: "02" }),
  );
});
