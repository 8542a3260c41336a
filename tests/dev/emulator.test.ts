import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient, type Message } from "@aws-sdk/client-sqs";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { RunningEmulator } from "../../src/dev/emulator.ts";
import { parseMessageBody } from "../../src/s3-events/s3-event.parser.ts";
import {
  startTestEmulator,
  TEST_BUCKET as BUCKET,
  TEST_CREDENTIALS as credentials,
  testS3Client,
} from "../helpers/emulator.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * The emulator against the real fauxqs and the real AWS SDK: resources exist with the right
 * redrive policy, and an upload reaches the media queue as the notification S3 would send.
 */

const rules = { sourceBuckets: [BUCKET], outputSegment: "processed" };

let emulator: RunningEmulator;
let s3: S3Client;
let sqs: SQSClient;

before(async () => {
  emulator = await startTestEmulator({ extraQueueNames: ["media-processing-video"] });
  s3 = testS3Client(emulator.endpoint);
  sqs = new SQSClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials });
});

after(async () => {
  s3.destroy();
  sqs.destroy();
  await emulator.stop();
  await emulator.stop(); // idempotent
});

async function receiveOne(queueUrl: string, visibilityTimeout = 30): Promise<Message> {
  // Each receive long-polls for a second, so no pause between them.
  const message = await waitForValue(
    async () =>
      (
        await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            WaitTimeSeconds: 1,
            VisibilityTimeout: visibilityTimeout,
            MaxNumberOfMessages: 1,
          }),
        )
      ).Messages?.[0],
    (received) => received !== undefined,
    `a message on ${queueUrl}`,
    10_000,
    0,
  );
  return message!;
}

async function visibleCount(queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages"] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages);
}

describe("emulator", () => {
  test("the job-event topic exists with a same-named queue subscribed to it, raw delivery", async () => {
    assert.equal(emulator.jobEventsTopicArn, "arn:aws:sns:us-east-1:000000000000:media-job-events");
    const sns = new SNSClient({ region: "us-east-1", endpoint: emulator.endpoint, credentials });
    try {
      await sns.send(
        new PublishCommand({ TopicArn: emulator.jobEventsTopicArn, Message: JSON.stringify({ hello: "events" }) }),
      );
    } finally {
      sns.destroy();
    }
    const queueUrl = emulator.queueUrl.replace(/media-processing$/, "media-job-events");
    const message = await receiveOne(queueUrl);
    assert.deepEqual(
      JSON.parse(message.Body ?? ""),
      { hello: "events" },
      "the body is the event itself, no SNS envelope",
    );
  });

  test("the media queue's redrive policy names the DLQ and maxReceiveCount", async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: emulator.queueUrl, AttributeNames: ["RedrivePolicy"] }),
    );
    const policy = JSON.parse(Attributes?.RedrivePolicy ?? "{}") as {
      deadLetterTargetArn?: string;
      maxReceiveCount?: number | string;
    };
    assert.match(policy.deadLetterTargetArn ?? "", /:media-processing-dlq$/);
    assert.equal(Number(policy.maxReceiveCount), 2);
  });

  test("an extra queue (a lane's) is made like the media queue: same DLQ, same maxReceiveCount, no notifications", async () => {
    const videoUrl = emulator.extraQueueUrls["media-processing-video"] ?? "";
    assert.ok(videoUrl.endsWith("/media-processing-video"), `extra queue URL ${videoUrl}`);
    const attributes = async (queueUrl: string) =>
      (
        await sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["RedrivePolicy", "VisibilityTimeout"] }),
        )
      ).Attributes;
    const [media, video] = await Promise.all([attributes(emulator.queueUrl), attributes(videoUrl)]);
    assert.deepEqual(JSON.parse(video?.RedrivePolicy ?? "{}"), JSON.parse(media?.RedrivePolicy ?? "{}"));
    assert.equal(video?.VisibilityTimeout, media?.VisibilityTimeout);
    assert.equal(await visibleCount(videoUrl), 0);
  });

  test("an upload with spaces, plus signs and accents arrives as an ObjectCreated notification whose key round-trips", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-my photo+1 été.jpg";
    const body = Buffer.from("not really a jpeg, the bridge does not care");
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

    const message = await receiveOne(emulator.queueUrl);
    const parsed = parseMessageBody(message.Body, rules);
    assert.equal(parsed.kind, "events");
    if (parsed.kind !== "events") return;
    assert.equal(parsed.refs.length, 1);
    const [ref] = parsed.refs;
    assert.equal(ref?.key, key);
    assert.equal(ref?.bucket, BUCKET);
    assert.equal(ref?.size, body.length);
    assert.equal(ref?.eTag, put.ETag?.replace(/"/g, ""));
    assert.match(ref?.eventName ?? "", /^ObjectCreated:/);
    // The raw body carries the key form-encoded, exactly as S3 writes it.
    assert.match(message.Body ?? "", /my\+photo%2B1\+%C3%A9t%C3%A9\.jpg/);
  });

  test("outputs raise no S3 event, a changed object raises one again, an unchanged one does not", async () => {
    const sentBefore = emulator.bridge.notificationsSent;
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "tenants/t1/users/u1/media/processed/a.jpg.0123abcd_thumb_small.webp",
        Body: "out",
      }),
    );
    const key = "tenants/t1/users/u1/media/clip.mp4";
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "version 1" }));
    const first = await receiveOne(emulator.queueUrl);
    assert.equal(parsedKey(first), key);
    // The output was uploaded before clip.mp4, so a listing that saw clip.mp4 saw it too.
    assert.equal(emulator.bridge.notificationsSent - sentBefore, 1);

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "version 2, longer" }));
    const second = await receiveOne(emulator.queueUrl);
    assert.equal(parsedKey(second), key);
    assert.notEqual(parsedETag(second), parsedETag(first));

    await new Promise((resolve) => setTimeout(resolve, 400)); // several poll intervals
    assert.equal(await visibleCount(emulator.queueUrl), 0);
    assert.equal(emulator.bridge.notificationsSent - sentBefore, 2);

    // The same bytes uploaded again: same ETag, but a new PUT, so S3 sends a new event with a new sequencer.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "version 2, longer" }));
    const third = await receiveOne(emulator.queueUrl);
    assert.equal(parsedETag(third), parsedETag(second));
    assert.notEqual(parsedSequencer(third), parsedSequencer(second));
  });

  test("a message received maxReceiveCount times without being deleted moves to the DLQ", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tenants/t1/users/u1/media/poison.bin", Body: "x" }));
    await receiveOne(emulator.queueUrl, 0);
    await receiveOne(emulator.queueUrl, 0);
    // The third receive finds the receive count exceeded and redrives instead of delivering.
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: emulator.queueUrl, WaitTimeSeconds: 1 }));
    assert.equal(Messages?.length ?? 0, 0);
    const dead = await receiveOne(emulator.dlqUrl);
    assert.equal(parsedKey(dead), "tenants/t1/users/u1/media/poison.bin");
  });
});

function parsedKey(message: Message): string | undefined {
  const parsed = parseMessageBody(message.Body, rules);
  return parsed.kind === "events" ? parsed.refs[0]?.key : undefined;
}

function parsedETag(message: Message): string | undefined {
  const parsed = parseMessageBody(message.Body, rules);
  return parsed.kind === "events" ? parsed.refs[0]?.eTag : undefined;
}

function parsedSequencer(message: Message): string | undefined {
  const parsed = parseMessageBody(message.Body, rules);
  return parsed.kind === "events" ? parsed.refs[0]?.sequencer : undefined;
}
