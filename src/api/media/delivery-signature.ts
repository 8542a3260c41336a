import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Signed delivery URLs (DELIVERY_SIGNING_KEYS): a URL carries `expires` (unix seconds) and `sig`,
 * the base64url HMAC-SHA256 of
 *
 *     <path> "?" <every other query parameter, sorted, percent-encoded> "\n" <expires>
 *
 * under the first key. The host is not signed, so one URL verifies wherever its path is served
 * (the API behind any hostname, a CDN edge for a CDN URL); every other parameter is, so a
 * signature for one key, variant or HLS file is worthless for another. Sorting and re-encoding
 * make the check independent of parameter order and of how a client escaped the values.
 *
 * This file imports only node:crypto, so another service (an app backend minting URLs, an edge
 * function in front of a CDN) can copy or import it; README's "Signed delivery" shows it in use.
 */
export const EXPIRES_PARAM = "expires";
export const SIGNATURE_PARAM = "sig";

/** Resolves relative URLs ("/api/…", "stream?…") without inventing a host in the output. */
const BASE = "http://signed.invalid";

/** What the signature covers, for `url` expiring at `expiresAtSec`. */
export function deliveryPayload(url: URL, expiresAtSec: number): string {
  return canonicalPayload(url.pathname, [...url.searchParams], expiresAtSec);
}

/** `pairs` are decoded (name, value) pairs; `expires` and `sig` among them are left out. */
function canonicalPayload(
  pathname: string,
  pairs: ReadonlyArray<readonly [string, string]>,
  expiresAtSec: number,
): string {
  const signed = pairs.filter(([name]) => name !== EXPIRES_PARAM && name !== SIGNATURE_PARAM);
  signed.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const query = signed.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&");
  return `${pathname}?${query}\n${expiresAtSec}`;
}

/**
 * The signed query string (`a=1&b=2&expires=…&sig=…`, parameters in the order given) of a URL
 * of `pathname` — the same signature as {@link signDeliveryUrl}, without parsing a URL each
 * time: the stream route signs every line of a playlist with it.
 */
export function signedQuery(
  pathname: string,
  params: ReadonlyArray<readonly [string, string]>,
  key: string,
  expiresAtSec: number,
): string {
  const sig = hmac(key, canonicalPayload(pathname, params, expiresAtSec)).toString("base64url");
  const query = params.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join("&");
  return `${query}&${EXPIRES_PARAM}=${expiresAtSec}&${SIGNATURE_PARAM}=${sig}`;
}

function hmac(key: string, payload: string): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

/**
 * `url` (absolute, or relative as "/api/…" or "stream?…") with `expires` and `sig` added (an
 * earlier pair replaced). A relative URL is signed for the path it has once resolved against
 * `relativeTo` (the URL of the document that names it), and returned relative as given.
 */
export function signDeliveryUrl(url: string, key: string, expiresAtSec: number, relativeTo: string = BASE): string {
  const parsed = new URL(url, new URL(relativeTo, BASE));
  parsed.searchParams.delete(EXPIRES_PARAM);
  parsed.searchParams.delete(SIGNATURE_PARAM);
  const sig = hmac(key, deliveryPayload(parsed, expiresAtSec)).toString("base64url");
  const suffix = `${EXPIRES_PARAM}=${expiresAtSec}&${SIGNATURE_PARAM}=${sig}`;
  // Keep the caller's own spelling of the URL; only the two parameters are appended.
  const bare = stripSignature(url);
  return `${bare}${bare.includes("?") ? (bare.endsWith("?") || bare.endsWith("&") ? "" : "&") : "?"}${suffix}`;
}

/** `url` without its `expires` and `sig` parameters, otherwise as written. */
function stripSignature(url: string): string {
  const [head, query] = splitOnce(url, "?");
  if (query === undefined) return url;
  const kept = query.split("&").filter((pair) => {
    const name = pair.split("=")[0];
    return name !== EXPIRES_PARAM && name !== SIGNATURE_PARAM;
  });
  return kept.length > 0 ? `${head}?${kept.join("&")}` : head;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

export type DeliveryVerification =
  | { ok: true; expiresAtSec: number }
  /** unsigned: neither parameter; malformed: one missing, repeated or not of its shape; mismatch: no key made this signature (forged, tampered, another path, a retired key). */
  | { ok: false; reason: "unsigned" | "malformed" | "mismatch" | "expired" };

/**
 * Checks a request's URL (path and query as received, e.g. Express's `originalUrl`) against
 * every key in `keys`, in constant time per key and without stopping at the first match, then
 * its expiry. The signature is checked first, so a forged URL is a mismatch whatever it claims.
 */
export function verifyDeliveryUrl(
  url: string,
  keys: readonly string[],
  nowSec: number = Math.floor(Date.now() / 1000),
): DeliveryVerification {
  const parsed = new URL(url, BASE);
  const expires = parsed.searchParams.getAll(EXPIRES_PARAM);
  const signatures = parsed.searchParams.getAll(SIGNATURE_PARAM);
  if (expires.length === 0 && signatures.length === 0) return { ok: false, reason: "unsigned" };
  if (
    expires.length !== 1 ||
    signatures.length !== 1 ||
    !/^\d{1,12}$/.test(expires[0]!) ||
    !/^[A-Za-z0-9_-]{43}$/.test(signatures[0]!)
  )
    return { ok: false, reason: "malformed" };
  const expiresAtSec = Number(expires[0]);
  const given = Buffer.from(signatures[0]!, "base64url");
  // 43 characters hold 258 bits: two spellings differing in the last two bits decode alike, so only the canonical one counts.
  if (given.toString("base64url") !== signatures[0]) return { ok: false, reason: "malformed" };
  const payload = deliveryPayload(parsed, expiresAtSec);
  let matched = false;
  for (const key of keys) {
    if (timingSafeEqual(given, hmac(key, payload))) matched = true;
  }
  if (!matched) return { ok: false, reason: "mismatch" };
  return expiresAtSec < nowSec ? { ok: false, reason: "expired" } : { ok: true, expiresAtSec };
}
