import { PublishCommand, type MessageAttributeValue, type SNSClient } from "@aws-sdk/client-sns";
import type { JobEvent } from "./job-event.ts";

/**
 * The SNS topic job events go to (MEDIA_PROCESSING_TOPIC_ARN); `enabled` is false when no topic
 * is configured (then `send` is never called). Sending one event is all it does: publishing, with
 * its at-least-once bookkeeping, is `JobEventPublisher`'s.
 */
export interface JobEventTopic {
  readonly enabled: boolean;
  send(event: JobEvent, signal?: AbortSignal): Promise<{ messageId: string | undefined }>;
}

export const noTopic: JobEventTopic = {
  enabled: false,
  send: () => Promise.reject(new Error("job events are off: MEDIA_PROCESSING_TOPIC_ARN is not set")),
};

/**
 * One SNS topic. Message attributes carry what subscribers filter on (event type,
 * status, media type, tenant), so a subscription can take only `media.job.failed`, or one
 * tenant's jobs, with a filter policy instead of parsing every body. On a FIFO topic job events of
 * one job keep their order (group = job id) and SNS drops duplicates of one event id.
 */
export function snsJobEventTopic(sns: SNSClient, topicArn: string): JobEventTopic {
  const fifo = topicArn.endsWith(".fifo");
  return {
    enabled: true,
    async send(event, signal) {
      const attributes: Record<string, MessageAttributeValue> = {
        eventType: { DataType: "String", StringValue: event.eventType },
        status: { DataType: "String", StringValue: event.job.status },
        mediaType: { DataType: "String", StringValue: event.job.type },
      };
      if (event.job.tenantId) attributes.tenantId = { DataType: "String", StringValue: event.job.tenantId };
      if (event.error) attributes.errorCategory = { DataType: "String", StringValue: event.error.category };
      const reply = await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Message: JSON.stringify(event),
          MessageAttributes: attributes,
          ...(fifo ? { MessageGroupId: event.job.id, MessageDeduplicationId: event.eventId } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
      return { messageId: reply.MessageId };
    },
  };
}
