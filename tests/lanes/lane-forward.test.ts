import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildLaneForward, parseLaneForward, type LaneForward } from "../../src/lanes/lane-forward.ts";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";

const RULES = { sourceBuckets: ["media-uploads"], outputSegment: "processed" };
const FORWARD: LaneForward = {
  lane: "video",
  reason: "lane",
  tenant: "t1",
  sentAtMs: 1_764_669_600_000,
  deferrals: 0,
  ref: {
    bucket: "media-uploads",
    key: "tenants/t1/users/u1/media/clip.jpg",
    size: 1234,
    eTag: "9b2cf535f27731c974343645a3985328",
    versionId: undefined,
    sequencer: "0065A1B2C3D4E5F6",
    eventName: "ObjectCreated:Put",
    eventTime: "2026-12-02T10:00:00.000Z",
    origin: "s3",
  },
};

describe("lane forward bodies", () => {
  test("a forward round-trips through its JSON body", () => {
    const parsed = parseLaneForward(buildLaneForward(FORWARD), RULES);
    assert.deepEqual(parsed, { kind: "forward", forward: FORWARD });
  });

  test("an S3 event is not a forward", () => {
    const body = buildS3Notification([{ bucket: "media-uploads", key: "a/lane-forward.jpg" }]);
    assert.deepEqual(parseLaneForward(body, RULES), { kind: "not-a-forward" });
  });

  test("a forward naming a foreign bucket, a `..` key, an output key or an unknown field is invalid", () => {
    const variants: Array<[string, (body: Record<string, unknown>) => void]> = [
      ["foreign bucket", (body) => ((body.ref as Record<string, unknown>).bucket = "someone-else")],
      ["dot-dot", (body) => ((body.ref as Record<string, unknown>).key = "tenants/t1/../../etc/passwd")],
      ["output key", (body) => ((body.ref as Record<string, unknown>).key = "tenants/t1/processed/x_manifest.json")],
      ["extra field", (body) => (body.inputPath = "/etc/passwd")],
      ["bad lane", (body) => (body.lane = "../video")],
    ];
    for (const [name, mutate] of variants) {
      const body = JSON.parse(buildLaneForward(FORWARD)) as Record<string, unknown>;
      mutate(body);
      assert.equal(parseLaneForward(JSON.stringify(body), RULES).kind, "invalid", name);
    }
  });
});
