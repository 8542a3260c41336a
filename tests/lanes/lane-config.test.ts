import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/config.ts";
import { laneForKind } from "../../src/lanes/lanes.ts";

const BASE = {
  MEDIA_BUCKET: "media-uploads",
  MEDIA_PROCESSING_QUEUE_URL: "http://localhost:4566/000000000000/media-processing",
  REDIS_URL: "redis://localhost:6379/0",
};
const VIDEO_URL = "http://localhost:4566/000000000000/media-video";

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe("lane configuration", () => {
  test("unset, there is one lane on the media queue at the worker's concurrency, served by every worker", () => {
    const config = loadConfig({ ...BASE, MEDIA_PROCESSOR_CONCURRENCY: "3" });
    assert.deepEqual(config.lanes.all, [
      {
        name: "media",
        kinds: [],
        queueUrl: BASE.MEDIA_PROCESSING_QUEUE_URL,
        concurrency: 3,
        lookahead: 0,
        newcomerSlots: 0,
      },
    ]);
    assert.deepEqual(config.lanes.served, ["media"]);
    assert.deepEqual(config.lanes.fairShare, { enabled: false, deferSec: 5, windowMs: 30_000 });
  });

  test("two lanes: the entry lane defaults to the media queue, concurrency per lane falls back to the worker's", () => {
    const config = loadConfig({
      ...BASE,
      MEDIA_LANES: "quick=image,document,audio;video=video",
      MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL}`,
      MEDIA_LANE_CONCURRENCY: "video=1",
      MEDIA_PROCESSOR_CONCURRENCY: "4",
      WORKER_LANES: "video",
    });
    assert.deepEqual(config.lanes.all, [
      {
        name: "quick",
        kinds: ["image", "document", "audio"],
        queueUrl: BASE.MEDIA_PROCESSING_QUEUE_URL,
        concurrency: 4,
        lookahead: 0,
        newcomerSlots: 0,
      },
      { name: "video", kinds: ["video"], queueUrl: VIDEO_URL, concurrency: 1, lookahead: 0, newcomerSlots: 0 },
    ]);
    assert.deepEqual(config.lanes.served, ["video"]);
    assert.equal(laneForKind(config.lanes.all, "video").name, "video");
    assert.equal(laneForKind(config.lanes.all, "image").name, "quick");
    assert.equal(laneForKind(config.lanes.all, "unknown").name, "quick", "unlisted kinds go to the entry lane");
    assert.equal(laneForKind(config.lanes.all, undefined).name, "quick", "undetectable bytes go to the entry lane");
  });

  test("with FAIR_SHARE, lanes without video look ahead 8 messages by default, lanes with video none, and FAIR_SHARE_LOOKAHEAD overrides", () => {
    const lookaheads = (env: Record<string, string>) =>
      loadConfig({ ...BASE, FAIR_SHARE: "true", ...env }).lanes.all.map((lane) => [lane.name, lane.lookahead]);
    const two = { MEDIA_LANES: "quick=image,document,audio;video=video", MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL}` };
    assert.deepEqual(lookaheads(two), [
      ["quick", 8],
      ["video", 0],
    ]);
    assert.deepEqual(lookaheads({}), [["media", 0]], "the one default lane takes video");
    assert.deepEqual(
      lookaheads({ MEDIA_LANES: "quick=image;heavy=document", MEDIA_LANE_QUEUE_URLS: `heavy=${VIDEO_URL}` }),
      [
        ["quick", 0],
        ["heavy", 8],
      ],
      "an entry lane takes video when no lane names it",
    );
    assert.deepEqual(lookaheads({ ...two, FAIR_SHARE_LOOKAHEAD: "quick=3;video=1" }), [
      ["quick", 3],
      ["video", 1],
    ]);
    assert.deepEqual(
      loadConfig({ ...BASE, ...two, FAIR_SHARE_LOOKAHEAD: "quick=3" }).lanes.all.map((lane) => lane.lookahead),
      [0, 0],
      "no look-ahead without FAIR_SHARE",
    );
    assert.ok(problemsOf({ ...two, FAIR_SHARE_LOOKAHEAD: "slow=2" }).some((problem) => problem.includes("slow")));
    assert.ok(problemsOf({ ...two, FAIR_SHARE_LOOKAHEAD: "quick=-1" }).length > 0);
  });

  test("with FAIR_SHARE, lanes without video have one newcomer slot by default, lanes with video none, and FAIR_SHARE_NEWCOMER_SLOTS overrides", () => {
    const slots = (env: Record<string, string>) =>
      loadConfig({ ...BASE, ...env }).lanes.all.map((lane) => [lane.name, lane.newcomerSlots]);
    const two = {
      FAIR_SHARE: "true",
      MEDIA_LANES: "quick=image,document,audio;video=video",
      MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL}`,
    };
    assert.deepEqual(slots(two), [
      ["quick", 1],
      ["video", 0],
    ]);
    assert.deepEqual(slots({ FAIR_SHARE: "true" }), [["media", 0]], "the one default lane takes video");
    assert.deepEqual(slots({ ...two, FAIR_SHARE_NEWCOMER_SLOTS: "quick=0;video=2" }), [
      ["quick", 0],
      ["video", 2],
    ]);
    assert.deepEqual(
      slots({ ...two, FAIR_SHARE: "false", FAIR_SHARE_NEWCOMER_SLOTS: "quick=2" }),
      [
        ["quick", 0],
        ["video", 0],
      ],
      "no newcomer slot without FAIR_SHARE",
    );
    assert.ok(problemsOf({ ...two, FAIR_SHARE_NEWCOMER_SLOTS: "slow=1" }).some((problem) => problem.includes("slow")));
    assert.ok(problemsOf({ ...two, FAIR_SHARE_NEWCOMER_SLOTS: "quick=9" }).length > 0);
  });

  test("FAIR_SHARE_BACKLOG_QUEUE_URLS gives a lane its backlog queue with FAIR_SHARE; a lane without one has none; a shared, unknown or fair-share-less backlog is refused", () => {
    const BACKLOG_URL = "http://localhost:4566/000000000000/media-quick-backlog";
    const lanes = {
      MEDIA_LANES: "quick=image,document,audio;video=video",
      MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL}`,
    };
    const config = loadConfig({
      ...BASE,
      ...lanes,
      FAIR_SHARE: "true",
      FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${BACKLOG_URL}`,
    });
    assert.equal(config.lanes.all[0]!.backlogQueueUrl, BACKLOG_URL);
    assert.equal(config.lanes.all[1]!.backlogQueueUrl, undefined);
    assert.match(
      problemsOf({ ...lanes, FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${BACKLOG_URL}` }).join("\n"),
      /set FAIR_SHARE=true/,
    );
    assert.match(
      problemsOf({ ...lanes, FAIR_SHARE: "true", FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${VIDEO_URL}` }).join("\n"),
      /backlog queue must be its lane's own/,
    );
    assert.match(
      problemsOf({
        ...lanes,
        FAIR_SHARE: "true",
        FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${BACKLOG_URL};video=${BACKLOG_URL}`,
      }).join("\n"),
      /backlog queue must be its lane's own/,
    );
    assert.match(
      problemsOf({ ...lanes, FAIR_SHARE: "true", FAIR_SHARE_BACKLOG_QUEUE_URLS: `bulk=${BACKLOG_URL}` }).join("\n"),
      /unknown lanes bulk/,
    );
  });

  test("a lane other than the entry lane without a queue URL is refused, naming the lane", () => {
    const problems = problemsOf({ MEDIA_LANES: "quick=image;video=video" });
    assert.ok(
      problems.some((problem) => problem.includes('lane "video" has no queue URL')),
      problems.join("\n"),
    );
  });

  test("an unknown lane in WORKER_LANES, MEDIA_LANE_CONCURRENCY or MEDIA_LANE_QUEUE_URLS is refused", () => {
    const env = { MEDIA_LANES: "quick=image;video=video", MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL}` };
    assert.ok(problemsOf({ ...env, WORKER_LANES: "quick,slow" }).some((problem) => problem.includes("slow")));
    assert.ok(problemsOf({ ...env, MEDIA_LANE_CONCURRENCY: "huge=3" }).some((problem) => problem.includes("huge")));
    assert.ok(
      problemsOf({ ...env, MEDIA_LANE_QUEUE_URLS: `video=${VIDEO_URL};other=${VIDEO_URL}x` }).some((problem) =>
        problem.includes("other"),
      ),
    );
  });

  test("unknown or repeated kinds, bad names and bad numbers are refused", () => {
    assert.ok(problemsOf({ MEDIA_LANES: "quick=image,pictures" }).some((problem) => problem.includes("pictures")));
    assert.ok(problemsOf({ MEDIA_LANES: "a=image;b=image" }).length > 0, "one kind in two lanes");
    assert.ok(problemsOf({ MEDIA_LANES: "Quick=image" }).length > 0, "upper-case lane name");
    assert.ok(problemsOf({ MEDIA_LANES: "quick=image", MEDIA_LANE_CONCURRENCY: "quick=0" }).length > 0);
    assert.ok(
      problemsOf({
        MEDIA_LANES: "quick=image;video=video",
        MEDIA_LANE_QUEUE_URLS: `video=${BASE.MEDIA_PROCESSING_QUEUE_URL}`,
      }).some((problem) => problem.includes("share one queue")),
    );
  });
});
