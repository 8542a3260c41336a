/** One uploaded object an event points at; the unit of work of the pipeline. */
export interface ObjectRef {
  bucket: string;
  /** The real object key, already URL-decoded. */
  key: string;
  size: number | undefined;
  eTag: string | undefined;
  /** Undefined for unversioned objects (S3's `"null"` is read as none). */
  versionId: string | undefined;
  /** Orders the events of one key; differs between two PUTs of the same bytes. */
  sequencer: string | undefined;
  eventName: string;
  eventTime: string | undefined;
  /** Which envelope carried it. */
  origin: "s3" | "sns" | "eventbridge";
}

export type DropReason =
  | "test-event"
  | "not-object-created"
  | "output-key"
  | "unsafe-key"
  | "foreign-bucket"
  | "empty-key";

export interface DroppedRecord {
  reason: DropReason;
  bucket?: string;
  key?: string;
  eventName?: string;
}

export type ParsedBody =
  | { kind: "events"; refs: ObjectRef[]; dropped: DroppedRecord[] }
  | { kind: "invalid"; reason: "not-json" | "unknown-shape" | "too-large"; detail: string };

/**
 * S3 reports `"null"` as the version id of objects written while versioning was off or
 * suspended (notifications, EventBridge, GetObject): that names no version, and two PUTs of such
 * a key must not look like one.
 */
/**
 * S3 quotes ETags in its HTTP answers (`"9b2c…"`) but not in event notifications. Every ETag is
 * made bare once, where it enters the worker (an event parsed into a ref, an S3 response read by
 * the object store); everything after compares and hashes bare ETags.
 */
export function bareETag(eTag: string | undefined | null): string | undefined {
  return eTag === undefined || eTag === null ? undefined : eTag.replace(/"/g, "");
}

export function realVersionId(versionId: string | undefined | null): string | undefined {
  return versionId && versionId !== "null" ? versionId : undefined;
}
