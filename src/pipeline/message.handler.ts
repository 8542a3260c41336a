import type { AppConfig } from "../config/config.ts";
import { compileTenantPattern } from "../events/key-rules.ts";
import { parseMessageBody } from "../events/s3-event.parser.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { MessageHandler, MessageOutcome } from "../queue/media.consumer.ts";
import type { JobRunner, RefOutcome } from "./job.runner.ts";

/**
 * From an SQS message to message outcome: parse the body, drop what is not ours (with a log line
 * and a metric), run each object's job in order, and combine their outcomes. The message is
 * deleted only when every object in it reached a recorded final state.
 */
export function createMessageHandler(deps: { config: AppConfig; runner: JobRunner; metrics: Metrics; logger: Logger }): MessageHandler {
  const { config, runner, metrics } = deps;
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  return async ({ message, signal, receiveCount }): Promise<MessageOutcome> => {
    const messageId = message.MessageId ?? "unknown";
    const logger = deps.logger.child({ messageId });
    const parsed = parseMessageBody(message.Body, { sourceBuckets: config.storage.sourceBuckets, outputSegment: config.storage.outputSegment });
    if (parsed.kind === "invalid") {
      metrics.messagesDropped.inc({ reason: `invalid-${parsed.reason}` });
      logger.warn({ reason: parsed.reason, detail: parsed.detail, bodyPreview: message.Body?.slice(0, 200) }, "message is not an S3 upload event; removed");
      return { action: "delete" };
    }
    for (const dropped of parsed.dropped) {
      metrics.messagesDropped.inc({ reason: dropped.reason });
      logger.info({ reason: dropped.reason, bucket: dropped.bucket, key: dropped.key, eventName: dropped.eventName }, "event record ignored");
    }
    const outcomes: RefOutcome[] = [];
    for (const ref of parsed.refs) {
      outcomes.push(await runner.run(ref, ownerOf(ref.key), { messageId, receiveCount, signal }));
      if (signal.aborted) break;
    }
    return combine(outcomes, parsed.refs.length);
  };
}

/** The least final outcome wins: one object to retry keeps the whole message. */
function combine(outcomes: RefOutcome[], expected: number): MessageOutcome {
  if (outcomes.some((outcome) => outcome.kind === "release") || outcomes.length < expected) return { action: "release" };
  const retries = outcomes.filter((outcome): outcome is { kind: "retry"; delaySec: number } => outcome.kind === "retry");
  if (retries.length > 0) return { action: "retry", delaySec: Math.max(...retries.map((retry) => retry.delaySec)) };
  if (outcomes.some((outcome) => outcome.kind === "busy")) return { action: "keep" };
  return { action: "delete" };
}
