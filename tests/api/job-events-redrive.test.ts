import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { transparentPng } from "../helpers/generate-images.ts";
import { createJobEventSubscription, emulatorTopicArn } from "../helpers/job-event-subscription.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * A job event owed through a whole SNS outage is not lost: the finished job's message keeps
 * coming back until its receives run out and it lands in the DLQ; once the topic exists, a DLQ
 * redrive through the API brings it back, the worker publishes the event without processing the
 * job again, and the message is gone.
 */
describe("job events owed through an SNS outage", () => {
  let t: ApiTestStack;
  before(async () => {
    const env = {
      MEDIA_PROCESSING_TOPIC_ARN: emulatorTopicArn("outage-events"),
      RETRY_BACKOFF_BASE: "1",
      RETRY_BACKOFF_MAX: "1",
      MAX_PROCESSING_RETRIES: "2",
    };
    t = await startApiTestStack({ maxReceiveCount: 2, env });
  });
  after(async () => {
    await t.stop();
  });

  test("the finished job's message reaches the DLQ while SNS refuses; a redrive publishes it once SNS works", async () => {
    const id = await t.stack.uploadAndNotify("outage/photo.png", await transparentPng());
    await t.stack.waitForJob(id, (job) => job.status === "completed");
    await waitFor(async () => (await t.stack.queueDepth("dlq")).visible > 0, "the message dead-lettered", 30_000, 250);
    assert.equal(
      (await t.stack.queueDepth("dlq")).visible,
      1,
      "the message is kept, then dead-lettered, never deleted unpublished",
    );
    assert.equal((await t.stack.store.get(id))?.announcedEventId, undefined);

    const topic = await createJobEventSubscription(t.stack.local.env.AWS_ENDPOINT_URL!, t.stack.sqs, "outage-events");
    try {
      const started = await t.call<{ action: { id: string } }>("POST", "/api/media/dlq/redrive", { body: {} });
      assert.equal(started.status, 202);
      const redrive = await t.waitForAction(started.body.action.id);
      assert.deepEqual(
        redrive.progress.jobs?.map((job) => [job.id, job.requeued, job.status]),
        [[id, false, "completed"]],
        "a completed job is not requeued by a redrive",
      );
      const [received, ...more] = await topic.receive(1, 30_000);
      assert.deepEqual(more, []);
      assert.equal(received?.event.job.id, id);
      assert.equal(received?.event.eventType, "media.job.completed");
      const job = await t.stack.waitForJob(id, (record) => record.announcedEventId !== undefined);
      assert.equal(job.attempts, 1, "published, not processed again");
      assert.equal(job.timeline.filter((entry) => entry.event === "completed").length, 1);
      const depth = await t.stack.waitForEmptyQueue("the media queue drained", 20_000);
      assert.equal(depth.visible + depth.inFlight + depth.delayed, 0);
    } finally {
      topic.close();
    }
  });
});
