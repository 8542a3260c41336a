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
  if (/[\u0000-\u001f]/.test(key)) return true;
  return key.split("/").some((segment) => segment === ".." || segment === ".");
}

/** True for keys inside the output segment, e.g. `…/processed/…`, so outputs never loop. */
export function isOutputKey(key: string, outputSegment: string): boolean {
  return key.split("/").slice(0, -1).includes(outputSegment);
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
