import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { cdnUrlOf } from "../../storage/output-keys.ts";
import { signDeliveryUrl } from "./delivery-signature.ts";

/**
 * The URL an application is given for one stored object: `CDN_BASE_URL/<key>` when a CDN
 * fronts the output bucket (cacheable forever: every run writes new keys, see output-keys.ts),
 * else a presigned GET against the endpoint browsers reach (API_PUBLIC_S3_ENDPOINT), valid for
 * API_PRESIGN_EXPIRY. Signing is local: no request to S3.
 *
 * With signed delivery (DELIVERY_SIGNING_KEYS) an item's outputs are handed out as signed URLs
 * of the API's output and stream routes, which verify them and redirect; CDN URLs then carry
 * `expires` and `sig` over their own path too, for an edge function to check
 * (delivery-signature.ts), so no URL we give out stays valid for ever.
 */
export interface OutputUrlSigner {
  presigner: S3Client;
  cdnBaseUrl: string | undefined;
  expiresInSec: number;
  /** Undefined: signed delivery is off. */
  delivery?: DeliverySigning | undefined;
}

export interface DeliverySigning {
  /** The first signs, every one verifies (two during a rotation). */
  keys: readonly string[];
  ttlSec: number;
  /** Set for an answer to a signed request: what it hands out expires with it, not later. */
  expiresAtSec?: number | undefined;
}

/** Where a signed URL issued now expires. */
export const issuedExpiry = (delivery: DeliverySigning, nowMs: number = Date.now()) =>
  delivery.expiresAtSec ?? Math.floor(nowMs / 1000) + delivery.ttlSec;

/** The app routes' paths (relative to the API's root), before signing. */
export const OUTPUT_ROUTE = "/api/media/item/output";
export const STREAM_ROUTE = "/api/media/item/stream";
export const outputRouteUrl = (key: string, variant: string) =>
  `${OUTPUT_ROUTE}?key=${encodeURIComponent(key)}&variant=${encodeURIComponent(variant)}`;
export const streamRouteUrl = (key: string, file: string) =>
  `${STREAM_ROUTE}?key=${encodeURIComponent(key)}&file=${encodeURIComponent(file)}`;

/** `url` signed to expire at `expiresAtSec` (or after DELIVERY_URL_TTL); unchanged with signing off. */
export function signedOrPlain(
  signer: OutputUrlSigner,
  url: string,
  options: { expiresAtSec?: number | undefined } = {},
): string {
  if (!signer.delivery) return url;
  return signDeliveryUrl(url, signer.delivery.keys[0]!, options.expiresAtSec ?? issuedExpiry(signer.delivery));
}

/**
 * A stored object's URL: the CDN's (signed with signed delivery) or a presigned GET, which with
 * `expiresAtSec` expires then too (within API_PRESIGN_EXPIRY): a redirect never outlives the
 * signed URL that led to it.
 */
export async function objectUrl(
  signer: OutputUrlSigner,
  bucket: string,
  key: string,
  options: { viaCdn?: boolean; expiresAtSec?: number | undefined } = {},
): Promise<string> {
  const until = options.expiresAtSec ?? signer.delivery?.expiresAtSec;
  if (signer.cdnBaseUrl && options.viaCdn !== false)
    return signedOrPlain(signer, cdnUrlOf(signer.cdnBaseUrl, key), { expiresAtSec: until });
  const remainingSec = until !== undefined ? Math.max(1, until - Math.floor(Date.now() / 1000)) : signer.expiresInSec;
  return getSignedUrl(signer.presigner, new GetObjectCommand({ Bucket: bucket, Key: key }), {
    expiresIn: Math.min(signer.expiresInSec, remainingSec),
  });
}

/** The URL an item's output is handed out as: the signed output route with signed delivery, else {@link objectUrl}. */
export async function itemOutputUrl(
  signer: OutputUrlSigner,
  bucket: string,
  sourceKey: string,
  output: { key: string; variant: string },
): Promise<string> {
  if (signer.delivery) return signedOrPlain(signer, outputRouteUrl(sourceKey, output.variant));
  return objectUrl(signer, bucket, output.key);
}
