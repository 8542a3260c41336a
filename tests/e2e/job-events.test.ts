import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import type { Worker } from "../../src/worker.ts";
import { transparentPng, truncatedJpeg } from "../helpers/generate-images.ts";
import {
  createJobEventSubscription,
  emulatorTopicArn,
  type JobEventSubscription,
} from "../helpers/job-event-subscription.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";

/**
 * Job events out (MEDIA_PROCESSING_TOPIC_ARN): every terminal state is published to an SNS topic
 * at least once, through the real SNS SDK into the emulator, and read back from an SQS queue
 * subscribed to the topic, as a consumer service would.
 */
describe("job events on the SNS topic", () => {
  let stack: TestStack;
  let topic: JobEventSubscription;

  before(async () => {
    stack = await startTestStack({ noWorker: true });
    topic = await createJobEventSubscription(stack.local.env.AWS_ENDPOINT_URL!, stack.sqs, "media-job-events");
    await stack.startAnotherWorker({ MEDIA_PROCESSING_TOPIC_ARN: topic.topicArn });
  });
  after(async () => {
    topic.close();
    await stack.stop();
  });

  const drained = () => stack.waitForEmptyQueue("the media queue drained", 20_000);

  test("a completed job publishes its outputs, its tenant and a stable event id; the job records it", async () => {
    const key = "tenants/acme/users/u7/media/1700000000-logo.png";
    const id = await stack.uploadAndNotify(key, await transparentPng());
    await stack.waitForJob(id, (job) => job.status === "completed" && job.announcedEventId !== undefined);
    const [received, ...more] = await topic.receive(1);
    assert.ok(received, "an event arrived");
    assert.deepEqual(more, []);
    const { event, attributes } = received;
    assert.equal(event.eventType, "media.job.completed");
    assert.equal(event.job.id, id);
    assert.equal(event.job.status, "completed");
    assert.equal(event.job.tenantId, "acme");
    assert.equal(event.job.source.key, key);
    assert.equal(event.result?.bucket, stack.bucket);
    assert.deepEqual(event.result?.outputs.map((output) => output.variant).sort(), [
      "avif",
      "optimized",
      "thumb_large",
      "thumb_medium",
      "thumb_small",
      "webp",
    ]);
    for (const output of event.result!.outputs)
      assert.ok(
        (await stack.getObject(output.key)).length === output.bytes,
        `${output.key} is stored with the size the event states`,
      );
    const manifest = JSON.parse((await stack.getObject(event.result!.manifestKey)).toString()) as { jobId: string };
    assert.equal(manifest.jobId, id);
    assert.deepEqual(attributes, {
      eventType: "media.job.completed",
      status: "completed",
      mediaType: "image",
      tenantId: "acme",
    });

    const job = await stack.store.get(id);
    assert.equal(job?.announcedEventId, event.eventId);
    const published = job?.timeline.find((entry) => entry.event === "event-published");
    assert.equal(published?.detail?.eventId, event.eventId);
    await drained();
  });

  test("a redelivered message of a published job publishes nothing more and is removed", async () => {
    const id = await stack.uploadAndNotify("again/once.png", await transparentPng());
    await stack.waitForJob(id, (job) => job.announcedEventId !== undefined);
    assert.equal((await topic.receive(1)).length, 1);
    const job = await stack.store.get(id);
    await stack.sendEvent("again/once.png", job!.source.eTag, job!.source.sequencer);
    await drained();
    assert.deepEqual(await topic.receive(1, 3_000), [], "no second event for the same state");
    assert.equal((await stack.store.get(id))?.timeline.filter((entry) => entry.event === "event-published").length, 1);
  });

  test("a failed job publishes its categorised error", async () => {
    const id = await stack.uploadAndNotify("broken/cut.jpg", await truncatedJpeg());
    await stack.waitForJob(id, (job) => job.status === "failed" && job.announcedEventId !== undefined);
    const [received] = await topic.receive(1);
    assert.equal(received?.event.eventType, "media.job.failed");
    assert.equal(received?.event.job.id, id);
    assert.equal(received?.event.error?.category, "processing");
    assert.equal(received?.event.result, undefined);
    assert.equal(received?.attributes.errorCategory, "processing");
    await drained();
  });

  test("a job cancelled while queued has its event published when its message reaches the worker", async () => {
    const key = "queued/cancel-me.png";
    const { eTag } = await stack.upload(key, await transparentPng());
    const id = jobIdFor({ bucket: stack.bucket, key, eTag });
    await stack.store.enqueue({
      id,
      source: { bucket: stack.bucket, key, eTag },
      tenantId: undefined,
      userId: undefined,
      via: "test",
    });
    assert.equal(await stack.store.requestCancel(id), "queued");
    await stack.sendRaw(buildS3Notification([{ bucket: stack.bucket, key, eTag }]));
    const [received] = await topic.receive(1);
    assert.equal(received?.event.eventType, "media.job.cancelled");
    assert.equal(received?.event.job.id, id);
    assert.equal(received?.event.error?.category, "cancelled");
    await drained();
    assert.equal((await stack.store.get(id))?.status, "cancelled", "skipped, not processed");
  });

  test("a retried job that ends again is a new event with a new id", async () => {
    const id = await stack.uploadAndNotify("retry/twice.jpg", await truncatedJpeg());
    await stack.waitForJob(id, (job) => job.status === "failed" && job.announcedEventId !== undefined);
    const [first] = await topic.receive(1);
    assert.ok(await stack.store.requeue(id, ["failed"], { via: "test" }));
    assert.equal((await stack.store.get(id))?.announcedEventId, undefined, "a new state is not published yet");
    const { source } = (await stack.store.get(id))!;
    await stack.sendEvent("retry/twice.jpg", source.eTag, source.sequencer);
    await stack.waitForJob(
      id,
      (job) => job.status === "failed" && job.attempts === 2 && job.announcedEventId !== undefined,
    );
    const [second] = await topic.receive(1);
    assert.equal(second?.event.job.attempts, 2);
    assert.notEqual(second?.event.eventId, first?.event.eventId);
    await drained();
  });
});

describe("job events when SNS refuses them", () => {
  let stack: TestStack;
  let worker: Worker;

  before(async () => {
    // Enough receives that the message outlives the outage instead of reaching the DLQ.
    stack = await startTestStack({ noWorker: true, maxReceiveCount: 20, env: { MAX_PROCESSING_RETRIES: "20" } });
    // The topic does not exist yet: every publish fails with NotFound until it is created.
    worker = await stack.startAnotherWorker({ MEDIA_PROCESSING_TOPIC_ARN: emulatorTopicArn("late-topic") });
  });
  after(async () => {
    await stack.stop();
  });

  test("the job completes once, its message is kept until the event is out, then removed", async () => {
    const id = await stack.uploadAndNotify("late/event.png", await transparentPng());
    await stack.waitForJob(id, (job) => job.status === "completed");
    await sleep(1_500);
    const kept = await stack.queueDepth();
    assert.equal(kept.visible + kept.inFlight + kept.delayed, 1, "the message stays while the event is owed");
    const failures = (await worker.metrics.jobEvents.get()).values.find((value) => value.labels.outcome === "failed");
    assert.ok((failures?.value ?? 0) >= 1, "the failed publish is counted");

    const topic = await createJobEventSubscription(stack.local.env.AWS_ENDPOINT_URL!, stack.sqs, "late-topic");
    try {
      const [received] = await topic.receive(1, 30_000);
      assert.equal(received?.event.job.id, id);
      assert.equal(received?.event.eventType, "media.job.completed");
      const depth = await stack.waitForEmptyQueue("the message removed once published", 20_000);
      assert.equal(depth.visible + depth.inFlight + depth.delayed, 0, "removed once published");
      const job = await stack.store.get(id);
      assert.equal(job?.attempts, 1, "processed once, not again for the event");
      assert.equal(job?.timeline.filter((entry) => entry.event === "completed").length, 1);
      assert.equal(job?.announcedEventId, received?.event.eventId);
    } finally {
      topic.close();
    }
  });
});
