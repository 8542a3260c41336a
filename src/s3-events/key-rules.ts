/**
 * Pure rules about object keys: which keys are unsafe, which are our own outputs, and which
 * tenant/user a key belongs to.
 */

/**
 * S3 notifications URL-encode keys the way HTML forms do: a space becomes `+`, everything
 * else is percent-encoded, so `+` must become a space *before* percent-decoding (a literal
 * plus arrives as `%2B`). https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
export function decodeS3EventKey(encoded: string): string {
  const spaced = encoded.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    // A malformed escape: keep the literal text rather than guessing.
    return spaced;
  }
}

/** `..`/`.` path segments, NUL and control characters are never processed. */
export function isUnsafeKey(key: string): boolean {
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what a key must not hold
  if (/[\u0000-\u001f]/.test(key)) return true;
  return key.split("/").some((segment) => segment === ".." || segment === ".");
}

/*
 * The output layout's grammar (src/storage/output-keys.ts builds keys; this parses them). For a
 * source `<dir>/<file>` one run of one job writes
 *   `<dir>/<segment>/<base>.<run>_<variant>.<ext>`   flat outputs
 *   `<dir>/<segment>/<base>.<run>/<path…>`          nested trees (HLS, storyboard)
 *   `<dir>/<segment>/<base>_manifest.json`          the manifest, one stable key per source
 * where `<base>` is the whole file name, extension included (so `a.jpg` and `a.png` never share
 * keys), shortened with a hash when the key would pass S3's limit, and `<run>` is eight hex
 * digits naming the run (a new upload or a re-run never overwrites a key).
 *
 * Why this is unambiguous: a flat output name has exactly one dot (before its extension) and a
 * run token has none, so reading from the right the last dot ends the base, and the token is
 * the fixed eight characters after it. Two distinct sources can therefore never produce the
 * same key, and a key either has this shape or is not ours.
 */

/** A run token: eight lowercase hex digits. */
export const RUN_TOKEN_LENGTH = 8;
/** A flat output name: `<variant>.<ext>`, e.g. `thumb_small.webp`. */
export const FLAT_OUTPUT_NAME = /^[A-Za-z0-9_-]+\.[A-Za-z0-9]+$/;
/** One path segment of a nested output name, e.g. `hls/1080p/segment_00001.ts`. */
export const NESTED_OUTPUT_SEGMENT = /^[A-Za-z0-9._-]+$/;
/** The manifest's key is `<base>` plus this; no output name may end in `manifest.json`. */
export const MANIFEST_SUFFIX = "_manifest.json";

const FLAT_OUTPUT = /^(.+)\.([0-9a-f]{8})_([A-Za-z0-9_-]+\.[A-Za-z0-9]+)$/s;
const RUN_FOLDER = /^(.+)\.([0-9a-f]{8})$/s;

export type ParsedOutputKey =
  | { kind: "manifest"; prefix: string; base: string }
  | { kind: "flat" | "nested"; prefix: string; base: string; run: string; name: string };

/**
 * Reads a key as an output of the layout, or returns undefined when the layout cannot have
 * produced it (a user's own `…/processed/photo.jpg` is an upload, not an output).
 * `prefix` is `<dir>/<segment>/`.
 */
export function parseOutputKey(key: string, outputSegment: string): ParsedOutputKey | undefined {
  const parts = key.split("/");
  // The segment may occur more than once (a user folder named like it); any reading that fits will do.
  for (let index = parts.length - 2; index >= 0; index--) {
    if (parts[index] !== outputSegment) continue;
    const parsed = parseAfterSegment(`${parts.slice(0, index + 1).join("/")}/`, parts.slice(index + 1));
    if (parsed) return parsed;
  }
  return undefined;
}

function parseAfterSegment(prefix: string, rest: string[]): ParsedOutputKey | undefined {
  const [first, ...nested] = rest;
  if (!first) return undefined;
  if (nested.length === 0) {
    if (first.endsWith(MANIFEST_SUFFIX) && first.length > MANIFEST_SUFFIX.length)
      return { kind: "manifest", prefix, base: first.slice(0, -MANIFEST_SUFFIX.length) };
    const flat = FLAT_OUTPUT.exec(first);
    return flat ? { kind: "flat", prefix, base: flat[1]!, run: flat[2]!, name: flat[3]! } : undefined;
  }
  const folder = RUN_FOLDER.exec(first);
  if (!folder || !nested.every((segment) => NESTED_OUTPUT_SEGMENT.test(segment) && segment !== "." && segment !== ".."))
    return undefined;
  return { kind: "nested", prefix, base: folder[1]!, run: folder[2]!, name: nested.join("/") };
}

/**
 * True for keys the output layout can produce, so our own outputs never loop, even from a bucket
 * whose notifications are not filtered; any other key, in a folder named `processed` or not, is
 * an upload.
 */
export function isOutputKey(key: string, outputSegment: string): boolean {
  return parseOutputKey(key, outputSegment) !== undefined;
}

export interface Owner {
  tenantId: string | undefined;
  userId: string | undefined;
}

/** Compiles `tenants/{tenant}/users/{user}/media/` into a prefix matcher. */
export function compileTenantPattern(pattern: string): (key: string) => Owner {
  if (!pattern) return () => ({ tenantId: undefined, userId: undefined });
  const names: string[] = [];
  const source = pattern
    .split(/(\{tenant\}|\{user\})/)
    .map((part) => {
      if (part === "{tenant}" || part === "{user}") {
        names.push(part.slice(1, -1));
        return "([^/]+)";
      }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  const regex = new RegExp(`^${source}`);
  return (key) => {
    const match = regex.exec(key);
    if (!match) return { tenantId: undefined, userId: undefined };
    const value = (name: string) => {
      const index = names.indexOf(name);
      return index >= 0 ? match[index + 1] : undefined;
    };
    return { tenantId: value("tenant"), userId: value("user") };
  };
}
