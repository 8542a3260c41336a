import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { fromAwsError } from "../../errors.ts";

/**
 * Upload URLs for an application's users: the bytes go straight to S3, never through the API.
 * A POST policy is preferred because S3 itself enforces its `content-length-range` (an upload
 * over MAX_INPUT_BYTES is refused before it is stored); a presigned PUT is offered for clients
 * that cannot send a form, with the size signed when the client declares it. Files of gigabytes
 * use a multipart upload: create, presigned part URLs, complete.
 */

/** S3 allows parts of 5 MiB to 5 GiB and at most 10,000 of them. */
export const MIN_PART_BYTES = 8 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_PART_BYTES = 5 * 1024 ** 3;

export interface UploadTarget {
  s3: S3Client;
  /** Signs with the endpoint browsers reach (API_PUBLIC_S3_ENDPOINT). */
  presigner: S3Client;
  bucket: string;
  maxBytes: number;
  expiresInSec: number;
}

export interface UploadInstructions {
  key: string;
  method: "POST" | "PUT";
  uploadUrl: string;
  /** POST: the form fields to send before the file (the file field last). */
  fields?: Record<string, string>;
  /** Headers the upload request must carry (they are signed). */
  headers: Record<string, string>;
  expiresIn: number;
  maxBytes: number;
}

/** A POST policy: the key, the Content-Type and 1..maxBytes are conditions S3 checks. */
export async function presignPost(target: UploadTarget, key: string, contentType: string): Promise<UploadInstructions> {
  const post = await createPresignedPost(target.presigner, {
    Bucket: target.bucket,
    Key: key,
    Conditions: [
      ["content-length-range", 1, target.maxBytes],
      ["eq", "$Content-Type", contentType],
    ],
    Fields: { "Content-Type": contentType },
    Expires: target.expiresInSec,
  });
  return {
    key,
    method: "POST",
    uploadUrl: post.url,
    fields: post.fields,
    headers: {},
    expiresIn: target.expiresInSec,
    maxBytes: target.maxBytes,
  };
}

/** A presigned PUT; with `size` the Content-Length is signed, so S3 refuses any other length. */
export async function presignPut(
  target: UploadTarget,
  key: string,
  contentType: string,
  size: number | undefined,
): Promise<UploadInstructions> {
  const command = new PutObjectCommand({
    Bucket: target.bucket,
    Key: key,
    ContentType: contentType,
    ...(size !== undefined ? { ContentLength: size } : {}),
  });
  const signed = new Set(["content-type", ...(size !== undefined ? ["content-length"] : [])]);
  const uploadUrl = await getSignedUrl(target.presigner, command, {
    expiresIn: target.expiresInSec,
    signableHeaders: signed,
  });
  return {
    key,
    method: "PUT",
    uploadUrl,
    headers: { "content-type": contentType, ...(size !== undefined ? { "content-length": String(size) } : {}) },
    expiresIn: target.expiresInSec,
    maxBytes: target.maxBytes,
  };
}

/** Part size for `size` bytes: at least 8 MiB, large enough that the parts fit 10,000. */
export function partPlan(size: number): { partBytes: number; partCount: number } {
  const partBytes = Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024);
  return { partBytes, partCount: Math.max(1, Math.ceil(size / partBytes)) };
}

export async function createMultipart(target: UploadTarget, key: string, contentType: string): Promise<string> {
  try {
    const created = await target.s3.send(
      new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: key, ContentType: contentType }),
    );
    if (!created.UploadId) throw new Error("S3 returned no UploadId");
    return created.UploadId;
  } catch (error) {
    throw fromAwsError(error, "s3:createMultipartUpload");
  }
}

export async function presignParts(
  target: UploadTarget,
  key: string,
  uploadId: string,
  partNumbers: readonly number[],
): Promise<Array<{ partNumber: number; url: string }>> {
  return Promise.all(
    partNumbers.map(async (partNumber) => ({
      partNumber,
      url: await getSignedUrl(
        target.presigner,
        new UploadPartCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber }),
        { expiresIn: target.expiresInSec },
      ),
    })),
  );
}

/** Completes the upload; S3 answers NoSuchUpload for an unknown id and InvalidPart for wrong ETags (both the client's mistakes). */
export async function completeMultipart(
  target: UploadTarget,
  key: string,
  uploadId: string,
  parts: ReadonlyArray<{ partNumber: number; eTag: string }>,
): Promise<"completed" | "no-such-upload" | "invalid-part"> {
  try {
    await target.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [...parts]
            .sort((a, b) => a.partNumber - b.partNumber)
            .map((part) => ({ PartNumber: part.partNumber, ETag: part.eTag })),
        },
      }),
    );
    return "completed";
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === "NoSuchUpload") return "no-such-upload";
    if (name === "InvalidPart" || name === "InvalidPartOrder" || name === "EntityTooSmall") return "invalid-part";
    throw fromAwsError(error, "s3:completeMultipartUpload");
  }
}

export async function abortMultipart(target: UploadTarget, key: string, uploadId: string): Promise<void> {
  try {
    await target.s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId }));
  } catch (error) {
    // Aborting twice, or an upload that completed meanwhile: nothing is left to abort.
    if ((error as { name?: string }).name === "NoSuchUpload") return;
    throw fromAwsError(error, "s3:abortMultipartUpload");
  }
}

export interface StoredUpload {
  size: number;
  eTag: string | undefined;
  versionId: string | undefined;
}

/** The uploaded object's size and identity, or undefined when there is none (yet). */
export async function headUpload(target: UploadTarget, key: string): Promise<StoredUpload | undefined> {
  try {
    const head = await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key }));
    return {
      size: head.ContentLength ?? 0,
      eTag: head.ETag?.replace(/"/g, ""),
      versionId: head.VersionId && head.VersionId !== "null" ? head.VersionId : undefined,
    };
  } catch (error) {
    const name = (error as { name?: string }).name;
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (name === "NotFound" || name === "NoSuchKey" || status === 404) return undefined;
    throw fromAwsError(error, "s3:headObject");
  }
}

/**
 * Whether a confirm enqueues the upload's job itself. Without bucket notifications it must (it
 * is the only enqueue). With them, the notification enqueues it: a versioned object gives the
 * confirm and the notification the same job id (jobIdFor uses the versionId alone), so the
 * confirm may enqueue at once; an unversioned one is identified by ETag and the notification's
 * sequencer, which the confirm cannot know, so it only reports the job the notification made.
 */
export function confirmEnqueues(bucketNotifies: boolean, versionId: string | undefined): boolean {
  return !bucketNotifies || versionId !== undefined;
}
