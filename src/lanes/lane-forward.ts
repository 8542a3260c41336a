import { z } from "zod";
import { isOutputKey, isUnsafeKey } from "../s3-events/key-rules.ts";
import type { ObjectRef } from "../s3-events/object-ref.ts";

/**
 * The internal message a worker sends to move one object's job to another queue: to its lane
 * (`reason: "lane"`) or back into its own lane later (`reason: "fair-share"`, sent with a
 * delay). One forward names exactly one object; a worker receiving it on the named lane skips
 * the sniff. It carries no path or URL: only the object ref, checked against the same rules as an
 * S3 event's (source bucket, no `..`, nothing under the output segment), so a forged forward can
 * do no more than a forged S3 event.
 *
 * ```json
 * { "mediaProcessor": "lane-forward", "version": 1, "lane": "video", "reason": "lane",
 *   "tenant": "t1", "sentAtMs": 1764669600000, "deferrals": 0,
 *   "ref": { "bucket": "media-uploads", "key": "tenants/t1/users/u1/media/clip.mp4", "size": 1234,
 *            "eTag": "9b2c…", "versionId": null, "sequencer": "0065…", "eventName": "ObjectCreated:Put",
 *            "eventTime": "2026-12-02T10:00:00.000Z", "origin": "s3" } }
 * ```
 * `sentAtMs` is when the original event reached the first queue (its SentTimestamp), so a lane's
 * wait time counts from the upload's event, not from the last hop; `deferrals` counts fair-share
 * deferrals so far (bounded by {@link MAX_DEFERRALS}).
 */
export const LANE_FORWARD_MARKER = "lane-forward";

/** Message attribute the intake sets on what it forwards: the SentTimestamp of the event it took in (epoch ms). */
export const EVENT_SENT_AT_ATTRIBUTE = "MediaEventSentAt";

/** The tenant (and SQS fair-queue MessageGroupId) of objects whose keys name none. */
export const NO_TENANT = "-";

/** After this many fair-share deferrals a message runs whatever the shares say, so nothing starves. */
export const MAX_DEFERRALS = 12;

const refSchema = z.object({
  bucket: z.string().min(3).max(63),
  key: z.string().min(1).max(1024),
  size: z.number().int().nonnegative().nullable(),
  eTag: z.string().max(128).nullable(),
  versionId: z.string().max(1024).nullable(),
  sequencer: z.string().max(128).nullable(),
  eventName: z.string().max(128),
  eventTime: z.string().max(64).nullable(),
  origin: z.enum(["s3", "sns", "eventbridge"]),
});

const forwardSchema = z
  .object({
    mediaProcessor: z.literal(LANE_FORWARD_MARKER),
    version: z.literal(1),
    lane: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
    reason: z.enum(["lane", "fair-share"]),
    tenant: z.string().max(256).nullable(),
    sentAtMs: z.number().int().nonnegative(),
    deferrals: z.number().int().min(0).max(1000),
    ref: refSchema,
  })
  .strict();

export type LaneForwardBody = z.infer<typeof forwardSchema>;

export interface LaneForward {
  lane: string;
  reason: "lane" | "fair-share";
  tenant: string | undefined;
  sentAtMs: number;
  deferrals: number;
  ref: ObjectRef;
}

export function buildLaneForward(forward: LaneForward): string {
  const { ref } = forward;
  const body: LaneForwardBody = {
    mediaProcessor: LANE_FORWARD_MARKER,
    version: 1,
    lane: forward.lane,
    reason: forward.reason,
    tenant: forward.tenant ?? null,
    sentAtMs: Math.round(forward.sentAtMs),
    deferrals: forward.deferrals,
    ref: refToWire(ref),
  };
  return JSON.stringify(body);
}

type WireRef = LaneForwardBody["ref"];

/** JSON has no undefined: absent fields travel as null. */
function refToWire(ref: ObjectRef): WireRef {
  return {
    bucket: ref.bucket,
    key: ref.key,
    size: ref.size ?? null,
    eTag: ref.eTag ?? null,
    versionId: ref.versionId ?? null,
    sequencer: ref.sequencer ?? null,
    eventName: ref.eventName,
    eventTime: ref.eventTime ?? null,
    origin: ref.origin,
  };
}

function refFromWire(ref: WireRef): ObjectRef {
  return {
    bucket: ref.bucket,
    key: ref.key,
    size: ref.size ?? undefined,
    eTag: ref.eTag ?? undefined,
    versionId: ref.versionId ?? undefined,
    sequencer: ref.sequencer ?? undefined,
    eventName: ref.eventName,
    eventTime: ref.eventTime ?? undefined,
    origin: ref.origin,
  };
}

export type ParsedForward =
  | { kind: "not-a-forward" }
  | { kind: "invalid"; detail: string }
  | { kind: "forward"; forward: LaneForward };

/**
 * A body is a forward when it is a JSON object whose `mediaProcessor` is "lane-forward"; anything
 * else is left to the S3 event parser. A forward that fails the schema or the key rules is
 * `invalid` (dropped like any unparseable body).
 */
export function parseLaneForward(
  body: string | undefined,
  rules: { sourceBuckets: string[]; outputSegment: string },
): ParsedForward {
  if (body === undefined || !body.includes(LANE_FORWARD_MARKER)) return { kind: "not-a-forward" };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: "not-a-forward" };
  }
  if (
    typeof json !== "object" ||
    json === null ||
    (json as { mediaProcessor?: unknown }).mediaProcessor !== LANE_FORWARD_MARKER
  )
    return { kind: "not-a-forward" };
  const parsed = forwardSchema.safeParse(json);
  if (!parsed.success) return { kind: "invalid", detail: parsed.error.issues[0]?.message ?? "invalid forward" };
  const { ref } = parsed.data;
  if (isUnsafeKey(ref.key) || ref.key.endsWith("/")) return { kind: "invalid", detail: "unsafe key" };
  if (isOutputKey(ref.key, rules.outputSegment)) return { kind: "invalid", detail: "output key" };
  if (rules.sourceBuckets.length > 0 && !rules.sourceBuckets.includes(ref.bucket))
    return { kind: "invalid", detail: "foreign bucket" };
  return {
    kind: "forward",
    forward: {
      lane: parsed.data.lane,
      reason: parsed.data.reason,
      tenant: parsed.data.tenant ?? undefined,
      sentAtMs: parsed.data.sentAtMs,
      deferrals: parsed.data.deferrals,
      ref: refFromWire(ref),
    },
  };
}
