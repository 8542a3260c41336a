import type { AppConfig } from "../config/config.ts";
import { compileTenantPattern } from "../s3-events/key-rules.ts";
import { parseMessageBody } from "../s3-events/s3-event.parser.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { MessageAction, MessageHandler } from "../queue/media.consumer.ts";
import { countAndLog } from "./fate-effects.ts";
import type { JobRunner } from "./job.runner.ts";
import { combineActions, decide, receiveOf } from "./outcome.ts";

/**
 * From an SQS message to what the consumer does with it: parse the body, drop what is not ours
 * (with a log line and a metric), run each object's job in order, and combine their actions (the
 * fate table in outcome.ts decides each, and how they combine). The message is deleted only when
 * every object in it reached a recorded final state.
 */
export function createMessageHandler(deps: {
  config: AppConfig;
  runner: JobRunner;
  metrics: Metrics;
  logger: Logger;
}): MessageHandler {
  const { config, runner, metrics } = deps;
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  return async ({ message, signal, receiveCount }): Promise<MessageAction> => {
    const messageId = message.MessageId ?? "unknown";
    const logger = deps.logger.child({ messageId });
    const parsed = parseMessageBody(message.Body, {
      sourceBuckets: config.storage.sourceBuckets,
      outputSegment: config.storage.outputSegment,
    });
    if (parsed.kind === "invalid") {
      const fate = decide({
        event: { kind: "unparseable", reason: parsed.reason },
        receive: receiveOf(receiveCount, config.queue),
      });
      countAndLog(
        fate,
        { metrics, logger },
        { fields: { reason: parsed.reason, detail: parsed.detail, bodyPreview: message.Body?.slice(0, 200) } },
      );
      return fate.messageAction;
    }
    for (const dropped of parsed.dropped) {
      metrics.messagesDropped.inc({ reason: dropped.reason });
      logger.info(
        { reason: dropped.reason, bucket: dropped.bucket, key: dropped.key, eventName: dropped.eventName },
        "event record ignored",
      );
    }
    const actions: MessageAction[] = [];
    for (const ref of parsed.refs) {
      actions.push(await runner.run(ref, ownerOf(ref.key), { messageId, receiveCount, signal }));
      if (signal.aborted) break;
    }
    return combineActions(actions, parsed.refs.length);
  };
}
