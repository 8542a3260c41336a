import { z } from "zod";
import { decodeS3EventKey, isOutputKey, isUnsafeKey } from "./key-rules.ts";
import { bareETag, realVersionId, type DroppedRecord, type ObjectRef, type ParsedBody } from "./object-ref.ts";

/**
 * Turns an SQS body into object refs. Accepts the three shapes S3 uploads reach a queue in:
 * a direct S3 notification, the same wrapped in an SNS envelope, and an EventBridge
 * "Object Created" event. Pure: no IO, no logging; the caller logs and counts what it returns.
 */

const s3RecordSchema = z.object({
  eventSource: z.string().optional(),
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
const s3NotificationSchema = z.object({ Records: z.array(z.unknown()).min(1) });
const s3TestEventSchema = z.object({ Event: z.literal("s3:TestEvent") });
const snsEnvelopeSchema = z.object({ Type: z.literal("Notification"), Message: z.string() });
const eventBridgeSchema = z.object({
  source: z.literal("aws.s3"),
  "detail-type": z.string(),
  time: z.string().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    // Loose: S3 writes `etag` and `version-id`, S3 lookalikes `eTag`/`ETag` and `versionId`.
    object: z.looseObject({
      key: z.string(),
      size: z.number().optional(),
      sequencer: z.string().optional(),
    }),
    reason: z.string().optional(),
  }),
});

export interface ParseRules {
  /** Buckets we accept uploads from; empty accepts any. */
  sourceBuckets: string[];
  outputSegment: string;
  /** SQS allows 256 KiB per message (1 MiB on newer queues); anything larger is not ours. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function parseMessageBody(body: string | undefined, rules: ParseRules): ParsedBody {
  if (body === undefined || body.length === 0)
    return { kind: "invalid", reason: "unknown-shape", detail: "empty body" };
  if (Buffer.byteLength(body) > (rules.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES)) {
    return { kind: "invalid", reason: "too-large", detail: `body of ${Buffer.byteLength(body)} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { kind: "invalid", reason: "not-json", detail: (error as Error).message };
  }
  return parseEnvelope(json, rules, 0);
}

function parseEnvelope(json: unknown, rules: ParseRules, depth: number): ParsedBody {
  const sns = snsEnvelopeSchema.safeParse(json);
  if (sns.success && depth === 0) {
    let inner: unknown;
    try {
      inner = JSON.parse(sns.data.Message);
    } catch (error) {
      return { kind: "invalid", reason: "not-json", detail: `SNS Message: ${(error as Error).message}` };
    }
    return withOrigin(parseEnvelope(inner, rules, depth + 1), "sns");
  }
  if (s3TestEventSchema.safeParse(json).success) {
    return { kind: "events", refs: [], dropped: [{ reason: "test-event" }] };
  }
  const notification = s3NotificationSchema.safeParse(json);
  if (notification.success) return parseS3Records(notification.data.Records, rules);
  const eventBridge = eventBridgeSchema.safeParse(json);
  if (eventBridge.success) return parseEventBridge(eventBridge.data, rules);
  return { kind: "invalid", reason: "unknown-shape", detail: "not an S3, SNS-wrapped S3 or EventBridge S3 event" };
}

function parseS3Records(records: unknown[], rules: ParseRules): ParsedBody {
  const refs: ObjectRef[] = [];
  const dropped: DroppedRecord[] = [];
  for (const raw of records) {
    const record = s3RecordSchema.safeParse(raw);
    if (!record.success) {
      return {
        kind: "invalid",
        reason: "unknown-shape",
        detail: `record: ${record.error.issues[0]?.message ?? "invalid"}`,
      };
    }
    const { eventName, eventTime, s3 } = record.data;
    const ref: ObjectRef = {
      bucket: s3.bucket.name,
      key: decodeS3EventKey(s3.object.key),
      size: s3.object.size,
      eTag: bareETag(s3.object.eTag),
      versionId: realVersionId(s3.object.versionId),
      sequencer: s3.object.sequencer,
      eventName,
      eventTime,
      origin: "s3",
    };
    const isCreated = /^(s3:)?ObjectCreated:/.test(eventName);
    classify(ref, isCreated, rules, refs, dropped);
  }
  return { kind: "events", refs, dropped };
}

function parseEventBridge(event: z.infer<typeof eventBridgeSchema>, rules: ParseRules): ParsedBody {
  const { bucket, object } = event.detail;
  const ref: ObjectRef = {
    bucket: bucket.name,
    // EventBridge carries the key as stored, not form-encoded like S3 notifications.
    key: object.key,
    size: object.size,
    eTag: bareETag(stringField(object, ["etag"])),
    versionId: realVersionId(stringField(object, ["version-id", "versionid"])),
    sequencer: object.sequencer,
    eventName: `ObjectCreated:${event.detail.reason ?? "EventBridge"}`,
    eventTime: event.time,
    origin: "eventbridge",
  };
  const refs: ObjectRef[] = [];
  const dropped: DroppedRecord[] = [];
  classify(ref, event["detail-type"] === "Object Created", rules, refs, dropped);
  return { kind: "events", refs, dropped };
}

function classify(
  ref: ObjectRef,
  isCreated: boolean,
  rules: ParseRules,
  refs: ObjectRef[],
  dropped: DroppedRecord[],
): void {
  const drop = (reason: DroppedRecord["reason"]) =>
    dropped.push({ reason, bucket: ref.bucket, key: ref.key, eventName: ref.eventName });
  if (!isCreated) return void drop("not-object-created");
  if (ref.key === "" || ref.key.endsWith("/")) return void drop("empty-key");
  if (isUnsafeKey(ref.key)) return void drop("unsafe-key");
  if (isOutputKey(ref.key, rules.outputSegment)) return void drop("output-key");
  if (rules.sourceBuckets.length > 0 && !rules.sourceBuckets.includes(ref.bucket)) return void drop("foreign-bucket");
  refs.push(ref);
}

/** The first string field whose name, ignoring case, is one of `names` (given in lower case). */
function stringField(object: Record<string, unknown>, names: string[]): string | undefined {
  for (const [name, value] of Object.entries(object)) {
    if (typeof value === "string" && names.includes(name.toLowerCase())) return value;
  }
  return undefined;
}

function withOrigin(parsed: ParsedBody, origin: ObjectRef["origin"]): ParsedBody {
  if (parsed.kind !== "events") return parsed;
  return { ...parsed, refs: parsed.refs.map((ref) => ({ ...ref, origin: ref.origin === "s3" ? origin : ref.origin })) };
}

/**
 * Builds the S3 notification body S3 itself would send for an upload (the emulator does not).
 * S3 gives every PUT a new `sequencer`; pass one ({@link newSequencer}) to model an upload, or
 * the recorded one to model a redelivery of the same event. Without one the body has none.
 */
export function buildS3Notification(
  refs: Array<{ bucket: string; key: string; size?: number; eTag?: string; versionId?: string; sequencer?: string }>,
  eventTime = new Date(),
): string {
  return JSON.stringify({
    Records: refs.map((ref) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "us-east-1",
      eventTime: eventTime.toISOString(),
      eventName: "ObjectCreated:Put",
      s3: {
        s3SchemaVersion: "1.0",
        bucket: { name: ref.bucket, arn: `arn:aws:s3:::${ref.bucket}` },
        object: {
          key: encodeS3EventKey(ref.key),
          ...(ref.size !== undefined ? { size: ref.size } : {}),
          ...(ref.eTag !== undefined ? { eTag: bareETag(ref.eTag) } : {}),
          ...(ref.versionId !== undefined ? { versionId: ref.versionId } : {}),
          ...(ref.sequencer !== undefined ? { sequencer: ref.sequencer } : {}),
        },
      },
    })),
  });
}

let lastSequencer = 0n;
/** A sequencer as S3 writes them (hex, growing for later events), unique within this process. */
export function newSequencer(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(18, "0");
}

/** The inverse of {@link decodeS3EventKey}: how S3 writes keys into notifications. */
export function encodeS3EventKey(key: string): string {
  return key
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, "+"))
    .join("/");
}
