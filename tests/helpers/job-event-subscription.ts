import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { jobEventSchema, type JobEvent } from "../../src/job-events/job-event.ts";

/**
 * A job-event topic on the emulator with an SQS queue subscribed to it (raw delivery, as a
 * consumer service would set it up), created through the real SNS and SQS SDKs over HTTP.
 */
export interface JobEventSubscription {
  topicArn: string;
  queueUrl: string;
  /** Receives (and deletes) events until `count` arrived or `timeoutMs` passed; every body must match the schema. */
  receive(count: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): void;
}

export interface ReceivedEvent {
  event: JobEvent;
  attributes: Record<string, string>;
}

/** The ARN the emulator gives a topic of this name (its account id is fixed). */
export const emulatorTopicArn = (name: string, region = "us-east-1") => `arn:aws:sns:${region}:000000000000:${name}`;

export async function createJobEventSubscription(
  endpoint: string,
  sqs: SQSClient,
  name: string,
): Promise<JobEventSubscription> {
  const sns = new SNSClient({ region: "us-east-1", endpoint });
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-subscriber` }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: "sqs",
      Endpoint: Attributes!.QueueArn!,
      Attributes: { RawMessageDelivery: "true" },
    }),
  );
  return {
    topicArn: TopicArn!,
    queueUrl: QueueUrl!,
    async receive(count, timeoutMs = 20_000) {
      const received: ReceivedEvent[] = [];
      const deadline = Date.now() + timeoutMs;
      while (received.length < count && Date.now() < deadline) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ["All"],
          }),
        );
        for (const message of Messages) {
          const attributes = Object.fromEntries(
            Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? ""]),
          );
          received.push({ event: jobEventSchema.parse(JSON.parse(message.Body ?? "")), attributes });
          await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      }
      return received;
    },
    close: () => sns.destroy(),
  };
}
