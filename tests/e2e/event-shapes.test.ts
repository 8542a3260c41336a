import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { outputKeyOf } from "../helpers/outputs.ts";

describe("message shapes through the real consumer", () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => {
    await stack.stop();
  });

  const drained = () => stack.waitForEmptyQueue("queue drained", 10_000);
  const dropped = async (reason: string) => {
    const metric = (await stack.worker.metrics.messagesDropped.get()).values.find(
      (value) => value.labels.reason === reason,
    );
    return metric?.value ?? 0;
  };

  test("a non-JSON body and an unknown JSON shape are counted, removed, and the worker keeps going", async () => {
    await stack.sendRaw("this is not json");
    await stack.sendRaw(JSON.stringify({ hello: "world" }));
    await drained();
    assert.equal(await dropped("invalid-not-json"), 1);
    assert.equal(await dropped("invalid-unknown-shape"), 1);
    assert.equal((await stack.queueDepth("dlq")).visible, 0);
  });

  test("an s3:TestEvent and an event for an output key are dropped without a job", async () => {
    await stack.sendRaw(
      JSON.stringify({
        Service: "Amazon S3",
        Event: "s3:TestEvent",
        Time: new Date().toISOString(),
        Bucket: stack.bucket,
      }),
    );
    await stack.sendEvent("tenants/t1/users/u1/media/processed/x.jpg.0123abcd_thumb_small.webp", "e1");
    await drained();
    assert.equal(await dropped("test-event"), 1);
    assert.equal(await dropped("output-key"), 1);
    assert.equal(
      await stack.store.get(
        jobIdFor({
          bucket: stack.bucket,
          key: "tenants/t1/users/u1/media/processed/x.jpg.0123abcd_thumb_small.webp",
          eTag: "e1",
        }),
      ),
      undefined,
    );
  });

  test("an SNS-wrapped event with a URL-encoded key (spaces and accents) is processed", async () => {
    const key = "tenants/t2/users/u9/media/vacances d'été 2024.png";
    const { eTag } = await stack.upload(key, await transparentPng());
    await stack.sendRaw(
      JSON.stringify({
        Type: "Notification",
        MessageId: "sns-1",
        TopicArn: "arn:aws:sns:us-east-1:000000000000:uploads",
        Message: buildS3Notification([{ bucket: stack.bucket, key, eTag }]),
      }),
    );
    const job = await stack.waitForJob(jobIdFor({ bucket: stack.bucket, key, eTag }));
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.source.key, key);
    assert.equal(job.tenantId, "t2");
    const outputs = await stack.listKeys("tenants/t2/users/u9/media/processed/");
    assert.ok(outputs.includes(outputKeyOf(job, "thumb_small.webp")), outputs.join("\n"));
    assert.match(
      outputKeyOf(job, "thumb_small.webp"),
      /^tenants\/t2\/users\/u9\/media\/processed\/vacances d'été 2024\.png\.[0-9a-f]{8}_thumb_small\.webp$/,
    );
  });

  test("an event for an object that no longer exists fails the job as processing/source-not-found", async () => {
    await stack.sendEvent("uploads/deleted-before-processing.jpg", "e-gone");
    const job = await stack.waitForJob(
      jobIdFor({ bucket: stack.bucket, key: "uploads/deleted-before-processing.jpg", eTag: "e-gone" }),
    );
    assert.equal(job.status, "failed");
    assert.equal(job.error?.code, "source-not-found");
    await drained();
  });

  test("one message with several records creates one job per object", async () => {
    const a = await stack.upload("batch/a.png", await transparentPng());
    const b = await stack.upload("batch/b.png", await transparentPng());
    await stack.sendRaw(
      buildS3Notification([
        { bucket: stack.bucket, key: "batch/a.png", eTag: a.eTag },
        { bucket: stack.bucket, key: "batch/b.png", eTag: b.eTag },
      ]),
    );
    for (const [key, eTag] of [
      ["batch/a.png", a.eTag],
      ["batch/b.png", b.eTag],
    ] as const) {
      assert.equal((await stack.waitForJob(jobIdFor({ bucket: stack.bucket, key, eTag }))).status, "completed");
    }
    await drained();
  });
});
