import { randomBytes } from "node:crypto";
import { truncateUtf8 } from "../../storage/output-keys.ts";

/**
 * The keys uploads are written to. A client never chooses one: the server builds it under the
 * tenant layout (TENANT_KEY_PATTERN, e.g. `tenants/{tenant}/users/{user}/media/`) as
 * `{timestamp}-{random}-{safe filename}`, so keys are unguessable (playback may be public),
 * never collide, never hold `..` or the output segment, and always parse back to the same owner.
 */

/** Tenant and user ids as they may appear in a key segment. */
export const OWNER_ID_PATTERN = "^[A-Za-z0-9._-]{1,64}$";
const OWNER_ID = new RegExp(OWNER_ID_PATTERN);
/** The readable part of a key keeps at most this many bytes of the client's file name. */
const FILENAME_MAX_BYTES = 100;

export interface UploadOwner {
  tenantId: string | undefined;
  userId: string | undefined;
}

/**
 * The client's file name reduced to `[A-Za-z0-9._-]`: a path is cut to its last part, other
 * characters become `-`, leading dots go (no hidden or `..` names), and an empty result is `file`.
 */
export function safeFilename(filename: string): string {
  const last = filename.split(/[\\/]/).pop() ?? "";
  const cleaned = last
    .normalize("NFKD")
    // Accents go with their letters (é → e), rather than each becoming a dash.
    .replace(/\p{M}+/gu, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[.-]+/, "")
    .replace(/\.{2,}/g, ".")
    .replace(/-+\./g, ".");
  const short = truncateUtf8(cleaned, FILENAME_MAX_BYTES).replace(/[.-]+$/, "");
  return short === "" ? "file" : short;
}

/** Why an owner does not fit the pattern, or undefined when it does. */
export function ownerProblem(pattern: string, owner: UploadOwner): string | undefined {
  for (const [placeholder, value, field] of [
    ["{tenant}", owner.tenantId, "tenantId"],
    ["{user}", owner.userId, "userId"],
  ] as const) {
    if (!pattern.includes(placeholder)) continue;
    if (value === undefined) return `${field} is required: uploads are stored under ${pattern}`;
    if (!OWNER_ID.test(value) || value === "." || value === "..") return `${field} must match ${OWNER_ID_PATTERN}`;
  }
  return undefined;
}

/** `{prefix from the pattern}{epoch seconds}-{12 hex}-{safe filename}`; check {@link ownerProblem} first. */
export function buildUploadKey(
  pattern: string,
  owner: UploadOwner,
  filename: string,
  nowMs: number,
  random: string = randomBytes(6).toString("hex"),
): string {
  const prefix = pattern.replaceAll("{tenant}", owner.tenantId ?? "").replaceAll("{user}", owner.userId ?? "");
  return `${prefix}${Math.floor(nowMs / 1000)}-${random}-${safeFilename(filename)}`;
}
