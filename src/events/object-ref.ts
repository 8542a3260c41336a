/** One uploaded object an event points at; the unit of work of the pipeline. */
export interface ObjectRef {
  bucket: string;
  /** The real object key, already URL-decoded. */
  key: string;
  size: number | undefined;
  eTag: string | undefined;
  versionId: string | undefined;
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
