import type { Message } from "@aws-sdk/client-sqs";
import type { Owner } from "../s3-events/key-rules.ts";
import { parseMessageBody, type ParseRules } from "../s3-events/s3-event.parser.ts";
import { MAX_DEFERRALS, parseLaneForward } from "./lane-forward.ts";

/**
 * What the fair share reads from a held message's body, without touching storage, in one parse:
 * - `tenant`: a lane forward says it; an S3 event's first object key names it
 *   (TENANT_KEY_PATTERN). Undefined when the body is neither or the key names no tenant — the
 *   fair share then counts it as "no tenant".
 * - `mayProbe`: whether it may be put behind the queue as a fair-share probe — an S3 event, or a
 *   lane forward deferred fewer than MAX_DEFERRALS times. Chunk tasks and bodies that do not
 *   parse never are (the handler must see them as they are).
 */
export function heldMessageFacts(
  message: Message,
  rules: ParseRules,
  ownerOf: (key: string) => Owner,
): { tenant: string | undefined; mayProbe: boolean } {
  const forwarded = parseLaneForward(message.Body, rules);
  if (forwarded.kind === "forward") {
    const { forward } = forwarded;
    return { tenant: forward.tenant, mayProbe: forward.reason !== "fair-share" || forward.deferrals < MAX_DEFERRALS };
  }
  if (forwarded.kind === "invalid") return { tenant: undefined, mayProbe: false };
  const parsed = parseMessageBody(message.Body, rules);
  const first = parsed.kind === "invalid" ? undefined : parsed.refs[0];
  return { tenant: first ? ownerOf(first.key).tenantId : undefined, mayProbe: first !== undefined };
}

/** The tenant a message's work belongs to ({@link heldMessageFacts}). */
export function tenantOfMessage(
  message: Message,
  rules: ParseRules,
  ownerOf: (key: string) => Owner,
): string | undefined {
  return heldMessageFacts(message, rules, ownerOf).tenant;
}
