import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { z } from "zod";
import type { JobRecord } from "../jobs/job.model.ts";

/**
 * Presigned GET URLs for a job's outputs, so the dashboard can show thumbnails, posters,
 * waveforms and page previews without the bucket being public. Signing is local (no request to
 * S3); the URLs expire after API_PRESIGN_EXPIRY.
 */

const resultSchema = z.object({
  outputs: z.array(
    z.object({
      key: z.string(),
      variant: z.string(),
      contentType: z.string(),
      bytes: z.number().optional(),
      width: z.number().optional(),
      height: z.number().optional(),
      durationSec: z.number().optional(),
    }),
  ),
  manifestKey: z.string().optional(),
});

export interface OutputLink {
  key: string;
  variant: string;
  contentType: string;
  bytes?: number;
  width?: number;
  height?: number;
  durationSec?: number;
  url: string;
  /** `image` when a browser can show it in an <img>: thumbnails, posters, waveforms, page previews. */
  preview: "image" | "none";
}

export interface JobOutputs {
  bucket: string;
  expiresInSec: number;
  outputs: OutputLink[];
  manifest: { key: string; url: string } | null;
}

export async function presignOutputs(s3: S3Client, job: JobRecord, outputBucket: string | undefined, expiresInSec: number): Promise<JobOutputs> {
  const bucket = outputBucket ?? job.source.bucket;
  const parsed = resultSchema.safeParse(job.result);
  const sign = (key: string) => getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSec });
  if (!parsed.success) return { bucket, expiresInSec, outputs: [], manifest: null };
  const outputs = await Promise.all(
    parsed.data.outputs.map(async (output): Promise<OutputLink> => ({
      ...output,
      url: await sign(output.key),
      preview: /^image\/(png|jpeg|webp|avif|gif)$/.test(output.contentType) ? "image" : "none",
    })),
  );
  const manifestKey = parsed.data.manifestKey;
  return { bucket, expiresInSec, outputs, manifest: manifestKey ? { key: manifestKey, url: await sign(manifestKey) } : null };
}
