import { z } from "zod";
import { JOB_STATUSES } from "../jobs/job.model.ts";
import type { ListCursor } from "../jobs/job.store.ts";
import { badRequest } from "./problem.ts";

/**
 * Request schemas (zod). Query values arrive as strings (or arrays when a name repeats, which
 * every schema here refuses), and every schema is strict: an unknown parameter — a typo, or
 * `status[]=failed` — is a 400, never a silently unfiltered answer. The OpenAPI document
 * (openapi.ts) states the same limits.
 */

/** Job ids are 24 hex characters (jobIdFor in job.model.ts). */
export const JOB_ID_PATTERN = "^[0-9a-f]{24}$";
export const TYPE_PATTERN = "^[A-Za-z0-9._-]{1,64}$";
/**
 * The list cursor as the API shows it: `<createdAtMs>-<jobId>` of the last job of a page (every
 * string matching it is a valid position), or for key searches `k` + base64url of the last
 * index member read.
 */
export const CURSOR_PATTERN = "^([0-9]{1,15}-[0-9a-f]{24}|k[A-Za-z0-9_-]{1,2800})$";
export const LIST_LIMIT = { min: 1, max: 200, fallback: 50 };
export const STATS_WINDOW_MINUTES = { min: 1, max: 7 * 24 * 60, fallback: 60 };
export const REDRIVE_MAX_MESSAGES = 10_000;
export const DLQ_PEEK_LIMIT = { min: 1, max: 100, fallback: 20 };
export const BULK_MAX_JOBS = 10_000;
/** S3 keys are at most 1024 bytes. */
export const KEY_MAX_LENGTH = 1024;
export const TENANT_MAX_LENGTH = 256;
export const ACTION_ID_PATTERN = "^[0-9a-f]{32}$";
/** A path inside a job's HLS folder, as its playlists name them. */
export const HLS_FILE_PATTERN = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}){0,3}$";

const intString = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, { message: "expected a whole number" })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .optional()
    .transform((value) => value ?? fallback);

/** RFC 3339 date-time (as OpenAPI's `date-time` format), to epoch ms. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const dateTime = z
  .string()
  .regex(RFC3339, { message: "expected an RFC 3339 date-time such as 2024-05-06T07:08:09Z" })
  .transform((value, ctx) => {
    // RFC 3339 allows a leap second (:60) that Date.parse refuses; read it as :59.
    const parsed = Date.parse(value.replace(/:60(?=(\.\d+)?([Zz]|[+-]))/, ":59").replace(" ", "T"));
    if (Number.isNaN(parsed)) {
      ctx.addIssue({ code: "custom", message: "not a real date" });
      return z.NEVER;
    }
    return parsed;
  });

const cursor = z.string().regex(new RegExp(CURSOR_PATTERN), { message: "expected nextCursor of a previous page" });
const tenant = z.string().min(1).max(TENANT_MAX_LENGTH);
const type = z.string().regex(new RegExp(TYPE_PATTERN));

export type ApiCursor = { kind: "time"; cursor: ListCursor } | { kind: "key"; after: string };

/** The API cursor to the store's: a time position, or a key-search resume point. */
export function parseCursor(value: string): ApiCursor {
  if (value.startsWith("k")) return { kind: "key", after: Buffer.from(value.slice(1), "base64url").toString() };
  const [ms, id] = value.split("-");
  return { kind: "time", cursor: { createdAtMs: Number(ms), id: id! } };
}
export const timeCursor = (cursor: ListCursor) => `${cursor.createdAtMs}-${cursor.id}`;
export const keyCursor = (after: string) => `k${Buffer.from(after).toString("base64url")}`;

export const jobIdParams = z
  .object({ id: z.string().regex(new RegExp(JOB_ID_PATTERN), { message: "expected a 24-character hex job id" }) })
  .strict();

/**
 * Listing: by status, type and tenant (any combination) and a time window, newest first; or
 * by source key (`key` exactly, `keyPrefix` as a prefix), in key order, with the same filters.
 * `since` after `until` is a valid, empty window (not an error).
 */
export const listQuery = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    type: type.optional(),
    tenant: tenant.optional(),
    since: dateTime.optional(),
    until: dateTime.optional(),
    key: z.string().min(1).max(KEY_MAX_LENGTH).optional(),
    keyPrefix: z.string().min(1).max(KEY_MAX_LENGTH).optional(),
    limit: intString(LIST_LIMIT.min, LIST_LIMIT.max, LIST_LIMIT.fallback),
    cursor: cursor.optional(),
  })
  .strict()
  .superRefine((query, ctx) => {
    const byKey = query.key !== undefined || query.keyPrefix !== undefined;
    if (query.key !== undefined && query.keyPrefix !== undefined)
      ctx.addIssue({ code: "custom", path: ["keyPrefix"], message: "give key or keyPrefix, not both" });
    if (query.cursor !== undefined && query.cursor.startsWith("k") !== byKey) {
      ctx.addIssue({
        code: "custom",
        path: ["cursor"],
        message: byKey ? "this cursor is not from a key search" : "this cursor is from a key search",
      });
    }
  });

export const retryQuery = z
  .object({
    force: z
      .enum(["true", "false"])
      .optional()
      .transform((value) => value === "true"),
  })
  .strict();
export const emptyQuery = z.object({}).strict();

export const statsQuery = z
  .object({
    windowMinutes: intString(STATS_WINDOW_MINUTES.min, STATS_WINDOW_MINUTES.max, STATS_WINDOW_MINUTES.fallback),
  })
  .strict();

export const dlqPeekQuery = z
  .object({ limit: intString(DLQ_PEEK_LIMIT.min, DLQ_PEEK_LIMIT.max, DLQ_PEEK_LIMIT.fallback) })
  .strict();

export const hlsQuery = z
  .object({
    file: z.string().regex(new RegExp(HLS_FILE_PATTERN), { message: "expected a path inside the job's HLS folder" }),
  })
  .strict();

export const actionIdParams = z
  .object({ id: z.string().regex(new RegExp(ACTION_ID_PATTERN), { message: "expected a 32-character hex action id" }) })
  .strict();

/** Which DLQ messages a redrive takes: all, named ones, or those whose objects match. */
export const redriveBody = z
  .object({
    maxMessages: z.number().int().min(1).max(REDRIVE_MAX_MESSAGES).optional(),
    messageIds: z.array(z.string().min(1).max(128)).min(1).max(1000).optional(),
    filter: z
      .object({
        tenant: tenant.optional(),
        keyPrefix: z.string().min(1).max(KEY_MAX_LENGTH).optional(),
        errorCode: z.string().min(1).max(128).optional(),
      })
      .strict()
      .optional(),
    /** Delete bodies that are not S3 events instead of leaving them in the DLQ (admin). */
    dropNonEvents: z.boolean().optional(),
  })
  .strict();

/** A bulk action over every job matching a filter (the list's filters). */
export const bulkBody = z
  .object({
    action: z.enum(["retry", "cancel"]),
    filter: z
      .object({
        status: z.enum(JOB_STATUSES).optional(),
        type: type.optional(),
        tenant: tenant.optional(),
        since: dateTime.optional(),
        until: dateTime.optional(),
      })
      .strict(),
    /** Retry: also completed jobs. */
    force: z.boolean().optional(),
    maxJobs: z.number().int().min(1).max(BULK_MAX_JOBS).optional(),
  })
  .strict();

/** Parses or throws a 400 problem naming each invalid field. */
export function parseRequest<Schema extends z.ZodType>(
  schema: Schema,
  value: unknown,
  where: "path" | "query" | "body",
): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({
    in: where,
    // An unknown parameter names itself, not the object it was found in.
    field: issue.code === "unrecognized_keys" ? issue.keys.join(",") : issue.path.join(".") || undefined,
    message:
      issue.code === "unrecognized_keys"
        ? `unknown ${where === "query" ? "parameter" : "field"}: ${issue.keys.join(", ")}`
        : issue.message,
  }));
  throw badRequest(
    `invalid ${where}: ${errors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join("; ")}`,
    { errors },
  );
}

// ---- the application surface (/api/media/uploads…, /api/media/item…) --------------------------

/** `type/subtype` as a Content-Type (no parameters: they would have to be matched by the POST policy too). */
export const CONTENT_TYPE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$";
export const OWNER_PATTERN = "^[A-Za-z0-9._-]{1,64}$";
export const UPLOAD_ID_MAX_LENGTH = 1024;
export const PART_URLS_MAX = 100;
export const MAX_PART_NUMBER = 10_000;
/** Variant names of outputs (`thumb_small`, `page_3`, `hls_master`). */
export const VARIANT_PATTERN = "^[a-z0-9_]{1,64}$";

const owner = z.string().regex(new RegExp(OWNER_PATTERN));
const sourceKey = z.string().min(1).max(KEY_MAX_LENGTH);
const uploadIdentity = {
  contentType: z
    .string()
    .regex(new RegExp(CONTENT_TYPE_PATTERN), { message: "expected a media type such as video/mp4" }),
  filename: z.string().min(1).max(255),
  tenantId: owner.optional(),
  userId: owner.optional(),
};

export const uploadBody = z
  .object({
    ...uploadIdentity,
    size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** POST (a form with a policy S3 enforces; the default) or PUT. */
    method: z.enum(["POST", "PUT"]).optional(),
  })
  .strict();

export const multipartCreateBody = z
  .object({ ...uploadIdentity, size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) })
  .strict();

const uploadId = z.string().min(1).max(UPLOAD_ID_MAX_LENGTH);
const partNumber = z.number().int().min(1).max(MAX_PART_NUMBER);

export const multipartPartsBody = z
  .object({ key: sourceKey, uploadId, partNumbers: z.array(partNumber).min(1).max(PART_URLS_MAX) })
  .strict();

export const multipartCompleteBody = z
  .object({
    key: sourceKey,
    uploadId,
    parts: z
      .array(z.object({ partNumber, eTag: z.string().min(1).max(128) }).strict())
      .min(1)
      .max(MAX_PART_NUMBER),
  })
  .strict();

export const multipartAbortBody = z.object({ key: sourceKey, uploadId }).strict();

export const confirmBody = z.object({ key: sourceKey }).strict();

export const itemQuery = z.object({ key: sourceKey }).strict();

export const itemDeleteQuery = z
  .object({
    key: sourceKey,
    keepSource: z
      .enum(["true", "false"])
      .optional()
      .transform((value) => value === "true"),
  })
  .strict();

export const itemOutputQuery = z
  .object({ key: sourceKey, variant: z.string().regex(new RegExp(VARIANT_PATTERN)) })
  .strict();

export const itemStreamQuery = z
  .object({
    key: sourceKey,
    file: z.string().regex(new RegExp(HLS_FILE_PATTERN), { message: "expected a path inside the item's HLS folder" }),
  })
  .strict();

export const itemListQuery = z
  .object({
    tenant: owner.optional(),
    user: owner.optional(),
    limit: intString(LIST_LIMIT.min, LIST_LIMIT.max, LIST_LIMIT.fallback),
    cursor: z
      .string()
      .regex(/^k[A-Za-z0-9_-]{1,2800}$/, { message: "expected nextCursor of a previous page" })
      .optional(),
  })
  .strict();
