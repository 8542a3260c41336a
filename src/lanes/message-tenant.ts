import type { Message } from "@aws-sdk/client-sqs";
import type { Owner } from "../s3-events/key-rules.ts";
import { parseMessageBody, type ParseRules } from "../s3-events/s3-event.parser.ts";
import { MAX_DEFERRALS, parseLaneForward } from "./lane-forward.ts";

/**
 * The tenant a message's work belongs to, read from its body without touching storage: a lane
 * forward says it; an S3 event's first object key names it (TENANT_KEY_PATTERN). Undefined when
 * the body is neither or the key names no tenant — the fair share then counts it as "no tenant".
 */
export function tenantOfMessage(
  message: Message,
  rules: ParseRules,
  ownerOf: (key: string) => Owner,
): string | undefined {
  const forwarded = parseLaneForward(message.Body, rules);
  if (forwarded.kind === "forward") return forwarded.forward.tenant;
  if (forwarded.kind === "invalid") return undefined;
  const parsed = parseMessageBody(message.Body, rules);
  const first = parsed.kind === "invalid" ? undefined : parsed.refs[0];
  return first ? ownerOf(first.key).tenantId : undefined;
}

/**
 * Whether a held message may be put behind the queue as a fair-share probe: an S3 event or a
 * lane forward deferred fewer than MAX_DEFERRALS times. Chunk tasks and bodies that do not
 * parse never are (the handler must see them as they are).
 */
export function mayProbe(message: Message, rules: ParseRules): boolean {
  const forwarded = parseLaneForward(message.Body, rules);
  if (forwarded.kind === "forward")
    return forwarded.forward.reason !== "fair-share" || forwarded.forward.deferrals < MAX_DEFERRALS;
  if (forwarded.kind === "invalid") return false;
  const parsed = parseMessageBody(message.Body, rules);
  return parsed.kind !== "invalid" && parsed.refs.length > 0;
}
