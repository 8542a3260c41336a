import type { Message } from "@aws-sdk/client-sqs";
import type { AppConfig } from "../config/config.ts";
import type { LaneGate } from "../lanes/lane-gate.ts";
import { EVENT_SENT_AT_ATTRIBUTE, parseLaneForward, type LaneForward } from "../lanes/lane-forward.ts";
import type { ObjectRef } from "../s3-events/object-ref.ts";
import { compileTenantPattern } from "../s3-events/key-rules.ts";
import { parseMessageBody } from "../s3-events/s3-event.parser.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { MessageAction, MessageHandler } from "../queue/media.consumer.ts";
import { countAndLog } from "./fate-effects.ts";
import type { ChunkRunner } from "./chunked/chunk.runner.ts";
import { parseChunkTask } from "./chunked/chunk-task.ts";
import type { JobRunner } from "./job.runner.ts";
import { combineActions, decide, receiveOf } from "./outcome.ts";

/**
 * From an SQS message to what the consumer does with it: parse the body, drop what is not ours
 * (with a log line and a metric), run each object's job in order, and combine their actions (the
 * fate table in outcome.ts decides each, and how they combine). The message is deleted only when
 * every object in it reached a recorded final state, or was forwarded (src/lanes: to its lane, or
 * deferred for fair share) — the forward then carries it.
 *
 * A body may be a chunk task of a chunked video (chunked/chunk-task.ts), run by the chunk runner
 * whatever the lane gate says (its job already passed the gate).
 *
 * With a lane gate, a body may also be a lane forward (lane-forward.ts): one object, its lane
 * already decided. Without one (embedding, tests), every body is an S3 event as before.
 */
export function createMessageHandler(deps: {
  config: AppConfig;
  runner: JobRunner;
  metrics: Metrics;
  logger: Logger;
  gate?: LaneGate;
  /** Runs chunk tasks of chunked videos (VIDEO_CHUNK_SECONDS); absent: a chunk body is unparseable. */
  chunks?: ChunkRunner;
  /** The queue this handler's consumer reads (a chunked video's tasks are sent back to it). */
  queueUrl?: string;
}): MessageHandler {
  const { config, runner, metrics, gate } = deps;
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  const rules = { sourceBuckets: config.storage.sourceBuckets, outputSegment: config.storage.outputSegment };
  return async ({ message, signal, receiveCount, heldBehind, probe, spill }): Promise<MessageAction> => {
    const canYield = heldBehind > 0;
    const messageId = message.MessageId ?? "unknown";
    const logger = deps.logger.child({ messageId });
    const chunk = deps.chunks ? parseChunkTask(message.Body) : ({ kind: "not-a-chunk" } as const);
    if (chunk.kind === "chunk" && deps.chunks) return deps.chunks.run(chunk.task, { messageId, receiveCount, signal });
    const forwarded = gate ? parseLaneForward(message.Body, rules) : ({ kind: "not-a-forward" } as const);
    if (forwarded.kind === "forward" && gate) {
      const { forward } = forwarded;
      const action = await runOne(forward.ref, {
        messageId,
        receiveCount,
        signal,
        sentAtMs: forward.sentAtMs,
        canYield,
        forward,
        ...(probe ? { probe } : {}),
        ...(spill ? { spill } : {}),
      });
      return combineActions([action], 1);
    }
    const parsed =
      chunk.kind === "invalid"
        ? ({ kind: "invalid", reason: "unknown-shape", detail: `chunk task: ${chunk.detail}` } as const)
        : forwarded.kind === "invalid"
          ? ({ kind: "invalid", reason: "unknown-shape", detail: `lane forward: ${forwarded.detail}` } as const)
          : parseMessageBody(message.Body, rules);
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
    const sentAtMs = sentAtOf(message);
    for (const ref of parsed.refs) {
      actions.push(
        gate
          ? await runOne(ref, {
              messageId,
              receiveCount,
              signal,
              sentAtMs,
              canYield,
              ...(probe ? { probe } : {}),
              ...(spill ? { spill } : {}),
            })
          : await runner.run(ref, ownerOf(ref.key), { messageId, receiveCount, signal, ...queueOf() }),
      );
      if (signal.aborted) break;
    }
    return combineActions(actions, parsed.refs.length);
  };

  function queueOf(): { queueUrl?: string } {
    return deps.queueUrl ? { queueUrl: deps.queueUrl } : {};
  }

  /** One object through the lane gate: moved elsewhere (the original may go once the forward is sent), or run here holding a fair-share slot. */
  async function runOne(
    ref: ObjectRef,
    delivery: {
      messageId: string;
      receiveCount: number;
      signal: AbortSignal;
      sentAtMs: number;
      canYield: boolean;
      forward?: LaneForward;
      probe?: boolean;
      spill?: boolean;
    },
  ): Promise<MessageAction> {
    const owner = ownerOf(ref.key);
    const { forward, canYield, probe, spill, ...rest } = delivery;
    const decision = await gate!.decide({
      ref,
      owner,
      sentAtMs: delivery.sentAtMs,
      signal: delivery.signal,
      canYield,
      ...(forward ? { forward } : {}),
      ...(probe ? { probe } : {}),
      ...(spill ? { spill } : {}),
    });
    if (decision.kind === "moved")
      return decision.sent
        ? { action: "delete" }
        : { action: "retry", delaySec: receiveOf(delivery.receiveCount, config.queue).retryDelaySec };
    try {
      // Stopping while the head was read: hand the message back unstarted, as the consumer does.
      if (delivery.signal.aborted) return { action: "release" };
      return await runner.run(ref, owner, { ...rest, lane: gate!.lane, ...queueOf() });
    } finally {
      await decision.slot.release();
    }
  }
}

/** When the upload's event reached the first queue: the intake's note if it passed through one, else this message's SentTimestamp. */
function sentAtOf(message: Message): number {
  const noted = Number(message.MessageAttributes?.[EVENT_SENT_AT_ATTRIBUTE]?.StringValue);
  if (Number.isFinite(noted) && noted > 0) return noted;
  const sent = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(sent) && sent > 0 ? sent : Date.now();
}
