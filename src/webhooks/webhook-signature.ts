import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Webhook signatures, Stripe-style: `Media-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`,
 * where each v1 is HMAC-SHA256(secret, `${t}.${raw body}`). Signing with every active secret
 * (two during a rotation) lets a receiver verify with either, so secrets rotate without a
 * window of rejected deliveries. The timestamp is signed, so a captured delivery cannot be
 * replayed later than the receiver's tolerance. This file is what README's receiver example uses.
 */
export const SIGNATURE_HEADER = "media-signature";
/** A receiver refuses signatures older (or newer) than this by default. */
export const DEFAULT_TOLERANCE_SEC = 300;

export function signPayload(secret: string, timestampSec: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampSec}.${body}`).digest("hex");
}

/** The header value for `body` signed now with every active secret. */
export function signatureHeader(secrets: readonly string[], body: string, timestampSec: number): string {
  return [`t=${timestampSec}`, ...secrets.map((secret) => `v1=${signPayload(secret, timestampSec, body)}`)].join(",");
}

export type VerifyResult =
  | { ok: true; timestampSec: number }
  | { ok: false; reason: "malformed" | "stale" | "mismatch" };

/**
 * Checks a delivery: the header parses, its timestamp is within `toleranceSec` of now, and one
 * of its v1 signatures is the HMAC of the raw body (compare bytes as received, before any JSON
 * parsing) under one of `secrets`. Comparisons are constant-time.
 */
export function verifySignature(options: {
  header: string | undefined | null;
  body: string;
  secrets: readonly string[];
  toleranceSec?: number;
  nowSec?: number;
}): VerifyResult {
  const parts = (options.header ?? "").split(",").map((part) => part.trim());
  const timestamp = parts.find((part) => part.startsWith("t="))?.slice(2);
  const signatures = parts.filter((part) => part.startsWith("v1=")).map((part) => part.slice(3));
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return { ok: false, reason: "malformed" };
  const timestampSec = Number(timestamp);
  const nowSec = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(nowSec - timestampSec) > (options.toleranceSec ?? DEFAULT_TOLERANCE_SEC))
    return { ok: false, reason: "stale" };
  let matched = false;
  for (const secret of options.secrets) {
    const expected = Buffer.from(signPayload(secret, timestampSec, options.body), "hex");
    for (const signature of signatures) {
      const given = Buffer.from(signature, "hex");
      if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
    }
  }
  return matched ? { ok: true, timestampSec } : { ok: false, reason: "mismatch" };
}
