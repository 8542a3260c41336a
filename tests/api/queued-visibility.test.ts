import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CreateQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * Queued work is visible: bucket notifications go to an intake queue (MEDIA_INTAKE_QUEUE_URL),
 * the API's intake records each upload as a `queued` job before any worker exists — listed,
 * found by key and by key prefix, cancellable — and forwards the event to the media queue.
 * When a worker starts, it processes the waiting jobs and drops the one cancelled while it
 * waited (cancel before claim), deleting its message.
 */
type JobList = { jobs: JobRecord[]; nextCursor: string | null };
type Queues = {
  media: { visible: number; inFlight: number; delayed: number } | null;
  intake: { visible: number } | null;
  jobs: Record<string, number>;
};

describe("queued jobs are visible before a worker claims them (intake)", () => {
  let t: ApiTestStack;
  let intakeUrl = "";
  before(async () => {
    t = await startApiTestStack({
      noWorker: true,
      beforeApi: async (stack) => {
        const created = await stack.sqs.send(new CreateQueueCommand({ QueueName: `intake-${Date.now()}` }));
        intakeUrl = created.QueueUrl!;
        return { MEDIA_INTAKE_QUEUE_URL: intakeUrl };
      },
    });
  });
  after(async () => {
    await t.stop();
  });

  test("uploads whose S3 events reach the intake queue are queued jobs at once: listed, searchable by key, cancellable; a worker then skips the cancelled one", async () => {
    const keys = ["a", "b", "c"].map((name) => `tenants/acme/users/u1/media/1700000000-${name}.png`);
    const ids: string[] = [];
    for (const key of keys) {
      const { eTag } = await t.stack.upload(key, await transparentPng());
      ids.push(jobIdFor({ bucket: t.stack.bucket, key, eTag }));
      await t.stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: intakeUrl,
          MessageBody: buildS3Notification([{ bucket: t.stack.bucket, key, eTag }]),
        }),
      );
    }
    await t.stack.sqs.send(new SendMessageCommand({ QueueUrl: intakeUrl, MessageBody: "not an event at all" }));

    const queued = await waitForValue(
      async () => (await t.call<JobList>("GET", "/api/media/jobs?status=queued")).body,
      (list) => list.jobs.length >= 3,
      (last) => `three queued jobs; last: ${JSON.stringify(last?.jobs.map((job) => job.id))}`,
      10_000,
    );
    assert.deepEqual(
      queued.jobs.map((job) => job.id).sort(),
      [...ids].sort(),
      "every upload is a queued job with no worker",
    );
    assert.ok(queued.jobs.every((job) => job.workerId === undefined && job.attempts === 0 && job.tenantId === "acme"));
    const first = await t.call<JobRecord>("GET", `/api/media/jobs/${ids[0]}`);
    assert.deepEqual(
      first.body.timeline.map((entry) => [entry.event, entry.detail]),
      [["queued", { via: "intake" }]],
    );

    const exact = await t.call<JobList>("GET", `/api/media/jobs?key=${encodeURIComponent(keys[1]!)}`);
    assert.deepEqual(
      exact.body.jobs.map((job) => job.id),
      [ids[1]],
    );
    const prefix = await t.call<JobList>(
      "GET",
      `/api/media/jobs?keyPrefix=${encodeURIComponent("tenants/acme/users/u1/media/1700000000-")}&limit=2`,
    );
    assert.deepEqual(
      prefix.body.jobs.map((job) => job.source.key),
      keys.slice(0, 2),
      "key order",
    );
    const next = await t.call<JobList>(
      "GET",
      `/api/media/jobs?keyPrefix=${encodeURIComponent("tenants/acme/users/u1/media/1700000000-")}&limit=2&cursor=${prefix.body.nextCursor}`,
    );
    assert.deepEqual(
      next.body.jobs.map((job) => job.source.key),
      keys.slice(2),
    );

    const queues = await t.call<Queues>("GET", "/api/media/queues");
    assert.equal(queues.body.jobs.queued, 3);
    assert.notEqual(queues.body.intake, null, "the intake queue's depth is shown");

    const cancelled = await t.call<{ outcome: string }>("DELETE", `/api/media/jobs/${ids[2]}`);
    assert.deepEqual([cancelled.status, cancelled.body.outcome], [200, "cancelled"]);

    await t.stack.startAnotherWorker();
    for (const id of ids.slice(0, 2)) assert.equal((await t.stack.waitForJob(id)).status, "completed");
    const skipped = await t.stack.store.get(ids[2]!);
    assert.deepEqual(
      [skipped?.status, skipped?.attempts],
      ["cancelled", 0],
      "the worker dropped it on claim, never processed it",
    );
    const depth = await t.stack.waitForEmptyQueue("the media queue drained", 20_000);
    assert.deepEqual(
      depth,
      { visible: 0, inFlight: 0, delayed: 0 },
      "every message, the cancelled job's and the junk body's too, is gone from the media queue",
    );
    assert.equal(t.api.intake?.forwarded, 4);
  });
});
