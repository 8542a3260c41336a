import { PublishCommand, type MessageAttributeValue, type SNSClient } from "@aws-sdk/client-sns";
import type { JobEvent } from "./job-event.ts";

/** Publishes job events; `enabled` is false when no topic is configured (then publish is never called). */
export interface JobEventPublisher {
  readonly enabled: boolean;
  publish(event: JobEvent, signal?: AbortSignal): Promise<{ messageId: string | undefined }>;
}

export const disabledPublisher: JobEventPublisher = {
  enabled: false,
  publish: () => Promise.reject(new Error("job events are off: MEDIA_PROCESSING_TOPIC_ARN is not set")),
};

/**
 * Publishes to one SNS topic. Message attributes carry what subscribers filter on (event type,
 * status, media type, tenant), so a subscription can take only `media.job.failed`, or one
 * tenant's jobs, with a filter policy instead of parsing every body. On a FIFO topic events of
 * one job keep their order (group = job id) and SNS drops duplicates of one event id.
 */
export function snsJobEventPublisher(sns: SNSClient, topicArn: string): JobEventPublisher {
  const fifo = topicArn.endsWith(".fifo");
  return {
    enabled: true,
    async publish(event, signal) {
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
