import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { cdnUrlOf } from "../../storage/output-keys.ts";

/**
 * The URL an application is given for one stored object: `CDN_BASE_URL/<key>` when a CDN
 * fronts the output bucket (cacheable forever: every run writes new keys, see output-keys.ts),
 * else a presigned GET against the endpoint browsers reach (API_PUBLIC_S3_ENDPOINT), valid for
 * API_PRESIGN_EXPIRY. Signing is local: no request to S3.
 */
export interface OutputUrlSigner {
  presigner: S3Client;
  cdnBaseUrl: string | undefined;
  expiresInSec: number;
}

/** Each key segment percent-encoded, the slashes kept (a CDN maps paths to keys one to one). */

export async function objectUrl(signer: OutputUrlSigner, bucket: string, key: string, options: { viaCdn?: boolean } = {}): Promise<string> {
  if (signer.cdnBaseUrl && options.viaCdn !== false) return cdnUrlOf(signer.cdnBaseUrl, key);
  return getSignedUrl(signer.presigner, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: signer.expiresInSec });
}
