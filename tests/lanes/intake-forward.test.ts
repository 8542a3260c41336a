import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { EVENT_SENT_AT_ATTRIBUTE } from "../../src/lanes/lane-forward.ts";
import { createLogger } from "../../src/logger.ts";
import { startIntake, type Intake } from "../../src/pipeline/intake.ts";
import { compileTenantPattern } from "../../src/s3-events/key-rules.ts";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { waitForValue } from "../helpers/wait-for.ts";

describe("the intake's forwards carry what the lanes need (emulator, real Redis)", () => {
  let stack: TestStack;
  let intake: Intake;
  let intakeQueueUrl: string;
  before(async () => {
    stack = await startTestStack({ noWorker: true });
    intakeQueueUrl = stack.local.emulator.fauxqs.createQueue("media-intake", { region: "us-east-1" }).queueUrl;
    intake = startIntake({
      sqs: stack.sqs,
      intakeQueueUrl,
      mediaQueueUrl: stack.config.queue.queueUrl,
      store: stack.store,
      parseRules: { sourceBuckets: [stack.bucket], outputSegment: "processed" },
      ownerOf: compileTenantPattern(stack.config.storage.tenantKeyPattern),
      logger: createLogger("silent"),
      waitTimeSeconds: 1,
    });
  });
  after(async () => {
    await intake.stop();
    await stack.stop();
  });

  test("a forwarded event keeps the SentTimestamp of the event the intake took in, so lane wait time starts at the upload", async () => {
    const sentBefore = Date.now();
    await stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: intakeQueueUrl,
        MessageBody: buildS3Notification([
          { bucket: stack.bucket, key: "tenants/t1/users/u1/media/a.jpg", eTag: "e1" },
        ]),
      }),
    );
    const message = await waitForValue(
      async () =>
        (
          await stack.sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: stack.config.queue.queueUrl,
              MessageAttributeNames: ["All"],
              MessageSystemAttributeNames: ["SentTimestamp"],
              WaitTimeSeconds: 1,
            }),
          )
        ).Messages?.[0],
      (value) => value !== undefined,
      "the intake to forward the event",
    );
    const noted = Number(message?.MessageAttributes?.[EVENT_SENT_AT_ATTRIBUTE]?.StringValue);
    assert.ok(noted >= sentBefore - 1_000 && noted <= Date.now(), `noted ${noted}`);
    assert.ok(noted <= Number(message?.Attributes?.SentTimestamp), "the original's time, not the forward's");
  });
});
