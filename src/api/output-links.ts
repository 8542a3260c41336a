import path from "node:path/posix";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { z } from "zod";
import type { JobRecord } from "../jobs/job.model.ts";

/**
 * Presigned GET URLs for a job's outputs, so the console can show thumbnails, posters,
 * waveforms and page previews and play audio and MP4 video without the bucket being public.
 * Signing is local (no request to S3) and uses the endpoint browsers reach
 * (API_PUBLIC_S3_ENDPOINT), which in docker-compose is not the one the API itself talks to. The
 * URLs expire after API_PRESIGN_EXPIRY. An HLS ladder plays through the API instead
 * (hls-playlist.ts): `playerUrl` names its master playlist there.
 */

/** One output as a job's result records it (the worker's OutputFile); the app routes read it too. */
export const outputSchema = z.object({
  key: z.string(),
  variant: z.string(),
  contentType: z.string(),
  bytes: z.number().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  durationSec: z.number().optional(),
});

const resultSchema = z.object({
  outputs: z.array(outputSchema),
  manifestKey: z.string().optional(),
});

export type PreviewKind = "image" | "video" | "audio" | "hls" | "none";

export interface OutputLink {
  key: string;
  variant: string;
  contentType: string;
  bytes?: number;
  width?: number;
  height?: number;
  durationSec?: number;
  url: string;
  /** How a browser shows it: <img>, <video>, <audio>, the HLS player (playerUrl), or a link. */
  preview: PreviewKind;
}

export interface JobOutputs {
  bucket: string;
  expiresInSec: number;
  outputs: OutputLink[];
  manifest: { key: string; url: string } | null;
  /** The job's HLS master playlist through the API (a path on this API), when it has a ladder. */
  playerUrl: string | null;
}

const IMAGE = /^image\/(png|jpeg|webp|avif|gif)$/;
const AUDIO = /^audio\/(mpeg|mp4|ogg|aac|webm|wav|x-m4a)$/;

export function previewKind(contentType: string, variant: string): PreviewKind {
  if (variant === "hls_master") return "hls";
  if (IMAGE.test(contentType)) return "image";
  if (contentType === "video/mp4" || contentType === "video/webm") return "video";
  if (AUDIO.test(contentType)) return "audio";
  return "none";
}

/** The job's HLS folder (where master.m3u8 lives), from its result; undefined without a ladder. */
export function hlsFolderOf(job: JobRecord): string | undefined {
  const parsed = resultSchema.safeParse(job.result);
  const master = parsed.success ? parsed.data.outputs.find((output) => output.variant === "hls_master") : undefined;
  return master ? path.dirname(master.key) : undefined;
}

export async function presignOutputs(
  presigner: S3Client,
  job: JobRecord,
  outputBucket: string | undefined,
  expiresInSec: number,
): Promise<JobOutputs> {
  const bucket = outputBucket ?? job.source.bucket;
  const parsed = resultSchema.safeParse(job.result);
  const sign = (key: string) =>
    getSignedUrl(presigner, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSec });
  if (!parsed.success) return { bucket, expiresInSec, outputs: [], manifest: null, playerUrl: null };
  const outputs = await Promise.all(
    parsed.data.outputs.map(
      async (output): Promise<OutputLink> => ({
        ...output,
        url: await sign(output.key),
        preview: previewKind(output.contentType, output.variant),
      }),
    ),
  );
  const manifestKey = parsed.data.manifestKey;
  const master = outputs.find((output) => output.preview === "hls");
  return {
    bucket,
    expiresInSec,
    outputs,
    manifest: manifestKey ? { key: manifestKey, url: await sign(manifestKey) } : null,
    playerUrl: master ? `/api/media/jobs/${job.id}/hls?file=${encodeURIComponent(path.basename(master.key))}` : null,
  };
}
