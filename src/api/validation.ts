import { z } from "zod";
import { JOB_STATUSES } from "../jobs/job.model.ts";
import { badRequest } from "./problem.ts";

/**
 * Request schemas (zod). Query values arrive as strings (or arrays when a name repeats, which
 * every schema here refuses). The OpenAPI document (openapi.ts) states the same limits.
 */

/** Job ids are 24 hex characters (jobIdFor in job.model.ts). */
export const JOB_ID_PATTERN = "^[0-9a-f]{24}$";
export const TYPE_PATTERN = "^[A-Za-z0-9._-]{1,64}$";
/**
 * The list cursor as the API shows it: `<createdAtMs>-<jobId>` of the last job of a page. Every
 * string matching the pattern is a valid position, so the document can state it exactly; the
 * store's own cursor encoding stays behind the API (toStoreCursor / fromStoreCursor).
 */
export const CURSOR_PATTERN = "^[0-9]{1,15}-[0-9a-f]{24}$";
export const LIST_LIMIT = { min: 1, max: 200, fallback: 50 };
export const STATS_WINDOW_MINUTES = { min: 1, max: 7 * 24 * 60, fallback: 60 };
export const REDRIVE_MAX_MESSAGES = 10_000;

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

const cursor = z.string().regex(new RegExp(CURSOR_PATTERN), { message: "expected <createdAtMs>-<jobId>, as nextCursor gives it" });

/** JobStore.list's cursor is base64url of `<createdAtMs>:<jobId>`. */
export const toStoreCursor = (apiCursor: string) => Buffer.from(apiCursor.replace("-", ":")).toString("base64url");
export const fromStoreCursor = (storeCursor: string) => Buffer.from(storeCursor, "base64url").toString().replace(":", "-");

export const jobIdParams = z.object({ id: z.string().regex(new RegExp(JOB_ID_PATTERN), { message: "expected a 24-character hex job id" }) });

/** `since` after `until` is a valid, empty window (not an error). */
export const listQuery = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  type: z.string().regex(new RegExp(TYPE_PATTERN)).optional(),
  tenant: z.string().min(1).max(256).optional(),
  since: dateTime.optional(),
  until: dateTime.optional(),
  limit: intString(LIST_LIMIT.min, LIST_LIMIT.max, LIST_LIMIT.fallback),
  cursor: cursor.optional(),
});

export const retryQuery = z.object({
  force: z.enum(["true", "false"]).optional().transform((value) => value === "true"),
});

export const statsQuery = z.object({
  windowMinutes: intString(STATS_WINDOW_MINUTES.min, STATS_WINDOW_MINUTES.max, STATS_WINDOW_MINUTES.fallback),
});

export const redriveBody = z
  .object({ maxMessages: z.number().int().min(1).max(REDRIVE_MAX_MESSAGES).optional() })
  .strict();

/** Parses or throws a 400 problem naming each invalid field. */
export function parseRequest<Schema extends z.ZodType>(schema: Schema, value: unknown, where: "path" | "query" | "body"): z.output<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => ({ in: where, field: issue.path.join(".") || undefined, message: issue.message }));
  throw badRequest(`invalid ${where}: ${errors.map((error) => (error.field ? `${error.field}: ${error.message}` : error.message)).join("; ")}`, { errors });
}
