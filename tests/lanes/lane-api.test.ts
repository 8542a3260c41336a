import assert from "node:assert/strict";
import { DeleteQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { Redis } from "ioredis";
import { FairShare } from "../../src/lanes/fair-share.ts";
import { createLogger } from "../../src/logger.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "../api/api-harness.ts";
import { waitForValue } from "../helpers/wait-for.ts";
import { LANES } from "./lane-stack.ts";

interface LaneBody {
  name: string;
  entry: boolean;
  kinds: string[];
  queue: { visible: number; inFlight: number; delayed: number } | null;
  backlog: { visible: number; inFlight: number; delayed: number } | null;
  workers: number;
  slots: number;
  waitingTenants: Array<{ tenant: string; waiting: number }>;
}

/**
 * The API with two lanes: GET /api/media/queues lists each lane's queue, capacity and the tenants
 * the fair share holds back; /readyz watches every lane's queue, not only the media queue.
 */
describe("the API's lane view (real Redis, emulator, a quick-lane worker)", () => {
  let harness: ApiTestStack;
  let videoQueueUrl = "";
  let backlogQueueUrl = "";
  let redis: Redis;

  before(async () => {
    harness = await startApiTestStack({
      noWorker: true,
      beforeApi: async (stack) => {
        videoQueueUrl = stack.local.emulator.fauxqs.createQueue("media-lane-video-api", {
          region: "us-east-1",
          attributes: { VisibilityTimeout: "30" },
        }).queueUrl;
        backlogQueueUrl = stack.local.emulator.fauxqs.createQueue("media-lane-quick-backlog-api", {
          region: "us-east-1",
          attributes: { VisibilityTimeout: "30" },
        }).queueUrl;
        return {
          MEDIA_LANES: LANES,
          MEDIA_LANE_QUEUE_URLS: `video=${videoQueueUrl}`,
          FAIR_SHARE: "true",
          FAIR_SHARE_BACKLOG_QUEUE_URLS: `quick=${backlogQueueUrl}`,
        };
      },
    });
    await harness.stack.startAnotherWorker({
      MEDIA_LANES: LANES,
      MEDIA_LANE_QUEUE_URLS: `video=${videoQueueUrl}`,
      WORKER_LANES: "quick",
      MEDIA_PROCESSOR_CONCURRENCY: "2",
    });
    redis = new Redis(harness.config.redis.url, { maxRetriesPerRequest: 1 });
  });
  after(async () => {
    redis.disconnect();
    await harness.stop();
  });

  test("each lane shows its queue depth, its backlog's, its live workers and slots, and the tenants deferred on it", async () => {
    // Three video messages nobody serves (no video worker) wait on the video lane's queue, two
    // on the quick lane's backlog (its worker runs without fair share, so it reads no backlog).
    for (let index = 0; index < 3; index += 1)
      await harness.stack.sqs.send(new SendMessageCommand({ QueueUrl: videoQueueUrl, MessageBody: `{"n":${index}}` }));
    for (let index = 0; index < 2; index += 1)
      await harness.stack.sqs.send(
        new SendMessageCommand({ QueueUrl: backlogQueueUrl, MessageBody: `{"backlog":${index}}` }),
      );
    // A real deferral in the quick lane: "big" holds the one slot while "small" is active.
    const fairShare = new FairShare({
      redis,
      keyPrefix: harness.config.redis.keyPrefix,
      lane: "quick",
      enabled: true,
      windowMs: 30_000,
      slotTtlMs: 60_000,
      capacity: async () => 1,
      logger: createLogger("silent"),
    });
    const held = await fairShare.admit("big", { mayDefer: true, returning: false });
    assert.ok(held.admitted);
    const small = await fairShare.admit("small", { mayDefer: true, returning: false });
    assert.ok(small.admitted);
    await small.slot.release();
    assert.equal((await fairShare.admit("big", { mayDefer: true, returning: false })).admitted, false);

    const lanes = await waitForValue(
      async () => (await harness.call<{ lanes: LaneBody[] }>("GET", "/api/media/queues")).body.lanes,
      (seen) =>
        seen.find((lane) => lane.name === "video")?.queue?.visible === 3 &&
        seen.find((lane) => lane.name === "quick")?.backlog?.visible === 2 &&
        seen.find((lane) => lane.name === "quick")?.workers === 1,
      (last) => `the lanes view to show 3 video messages and the quick worker; last ${JSON.stringify(last)}`,
      15_000,
    );
    assert.deepEqual(
      lanes.map((lane) => [lane.name, lane.entry, lane.kinds]),
      [
        ["quick", true, ["image", "document", "audio"]],
        ["video", false, ["video"]],
      ],
    );
    const [quick, video] = lanes as [LaneBody, LaneBody];
    assert.equal(quick.slots, 2, "the quick worker's two slots are the lane's capacity");
    assert.equal(video.backlog, null, "the video lane has no backlog");
    assert.deepEqual(quick.waitingTenants, [{ tenant: "big", waiting: 1 }]);
    assert.equal(video.workers, 0, "no worker serves the video lane");
    assert.equal(video.slots, 0);
    assert.deepEqual(video.waitingTenants, []);
    await held.slot.release();
  });

  const CHROMIUM = "/usr/bin/chromium";
  const noBrowser = !existsSync(CHROMIUM) && process.env.CI !== "true" ? "chromium is not installed" : false;
  test("the console's workers card lists each lane with its queue, backlog, workers / slots and held-back tenants", {
    skip: noBrowser,
  }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on("pageerror", (error) => assert.fail(`script error on the page: ${error.message}`));
      await page.goto(harness.baseUrl);
      await page.fill("#token-input", TEST_TOKEN);
      await page.click("#token-form button[type=submit]");
      await page.locator('#lanes-table tr[data-lane="video"]').waitFor();
      const rows = await page.locator("#lanes-table tbody tr").allInnerTexts();
      assert.equal(rows.length, 2);
      assert.match(rows[0]!, /^quick \(entry\)\s+\d+\s+\d+\s+\d+\s+2\s+1 \/ 2\s/);
      assert.match(rows[1]!, /^video\s+3\s+0\s+0\s+–\s+0 \/ 0\s+–/);
      await page.screenshot({ path: "/tmp/dashboard-lanes.png" });
    } finally {
      await browser.close();
    }
  });

  test("/readyz turns not-ready when a lane's queue or backlog is gone, though the media queue answers", async () => {
    const ready = await harness.call<{ status: string }>("GET", "/readyz");
    assert.equal(ready.status, 200, ready.text);
    await harness.stack.sqs.send(new DeleteQueueCommand({ QueueUrl: backlogQueueUrl }));
    const noBacklog = await harness.call<{ status: string; checks: Record<string, boolean> }>("GET", "/readyz");
    assert.equal(noBacklog.status, 503, noBacklog.text);
    assert.equal(noBacklog.body.checks.sqs, false);
    harness.stack.local.emulator.fauxqs.createQueue("media-lane-quick-backlog-api", {
      region: "us-east-1",
      attributes: { VisibilityTimeout: "30" },
    });
    assert.equal((await harness.call<{ status: string }>("GET", "/readyz")).status, 200, "the backlog is back");
    await harness.stack.sqs.send(new DeleteQueueCommand({ QueueUrl: videoQueueUrl }));
    const gone = await harness.call<{ status: string; checks: Record<string, boolean> }>("GET", "/readyz");
    assert.equal(gone.status, 503, gone.text);
    assert.equal(gone.body.checks.sqs, false);
    assert.equal(gone.body.checks.redis, true);
  });
});
