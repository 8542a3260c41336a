import { createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createReadStream } from "node:fs";
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { fromAwsError, MediaError, processingError, toMediaError } from "../errors.ts";

export interface DownloadResult {
  bytes: number;
  contentType: string | undefined;
  eTag: string | undefined;
  versionId: string | undefined;
}

export interface UploadRequest {
  bucket: string;
  key: string;
  body: { file: string } | { buffer: Buffer | string };
  contentType: string;
  cacheControl?: string;
  signal?: AbortSignal;
}

/** Files above this size go up as multipart uploads, in parts of this size. */
const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/** S3 object IO. Every AWS error leaves here as a categorised MediaError. */
export class ObjectStore {
  private readonly s3: S3Client;

  constructor(s3: S3Client) {
    this.s3 = s3;
  }

  /**
   * Streams an object to `destination`, refusing it once it passes `maxBytes` (checked on the
   * declared length first and on the bytes actually received, since a length can lie).
   */
  async download(bucket: string, key: string, destination: string, maxBytes: number, signal: AbortSignal): Promise<DownloadResult> {
    let response;
    try {
      response = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    } catch (error) {
      throw abortAware(error, signal, "s3:getObject");
    }
    if (response.ContentLength !== undefined && response.ContentLength > maxBytes) {
      destroyBody(response.Body);
      throw tooLarge(response.ContentLength, maxBytes);
    }
    let received = 0;
    const limiter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > maxBytes) return callback(tooLarge(received, maxBytes));
        callback(null, chunk);
      },
    });
    try {
      await pipeline(response.Body as NodeJS.ReadableStream, limiter, createWriteStream(destination), { signal });
    } catch (error) {
      if (error instanceof MediaError) throw error;
      throw abortAware(error, signal, "s3:getObject body");
    }
    return { bytes: received, contentType: response.ContentType, eTag: response.ETag, versionId: response.VersionId };
  }

  /** Uploads a file (multipart when large) or a buffer, returning the bytes written. */
  async upload(request: UploadRequest): Promise<number> {
    const { bucket, key, body, contentType, cacheControl, signal } = request;
    try {
      if ("buffer" in body) {
        const buffer = typeof body.buffer === "string" ? Buffer.from(body.buffer) : body.buffer;
        await this.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: buffer, ContentType: contentType, CacheControl: cacheControl }),
          signal ? { abortSignal: signal } : {},
        );
        return buffer.length;
      }
      const { size } = await stat(body.file);
      if (size <= MULTIPART_PART_BYTES) {
        await this.s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(body.file), ContentLength: size, ContentType: contentType, CacheControl: cacheControl }),
          signal ? { abortSignal: signal } : {},
        );
        return size;
      }
      const upload = new Upload({
        client: this.s3,
        params: { Bucket: bucket, Key: key, Body: createReadStream(body.file), ContentType: contentType, CacheControl: cacheControl },
        partSize: MULTIPART_PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      const abort = () => void upload.abort();
      signal?.addEventListener("abort", abort, { once: true });
      try {
        await upload.done();
      } finally {
        signal?.removeEventListener("abort", abort);
      }
      return size;
    } catch (error) {
      if (signal) throw abortAware(error, signal, "s3:putObject");
      throw fromAwsError(error, "s3:putObject");
    }
  }

  /** Deletes keys in batches of 1000 (DeleteObjects' limit); missing keys are not an error. Returns how many S3 reported deleted. */
  async deleteMany(bucket: string, keys: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let start = 0; start < keys.length; start += 1000) {
      const batch = keys.slice(start, start + 1000);
      try {
        const response = await this.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((key) => ({ Key: key })), Quiet: false } }));
        if (response.Errors && response.Errors.length > 0) throw new Error(`${response.Errors.length} object(s) not deleted, first: ${response.Errors[0]?.Code ?? "?"} ${response.Errors[0]?.Key ?? ""}`);
        deleted += response.Deleted?.length ?? batch.length;
      } catch (error) {
        throw fromAwsError(error, "s3:deleteObjects");
      }
    }
    return deleted;
  }

  async head(bucket: string, key: string): Promise<{ size: number; eTag: string | undefined; contentType: string | undefined }> {
    try {
      const response = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: response.ContentLength ?? 0, eTag: response.ETag, contentType: response.ContentType };
    } catch (error) {
      throw fromAwsError(error, "s3:getObject(head)");
    }
  }
}

function tooLarge(bytes: number, maxBytes: number): MediaError {
  return processingError("input-too-large", `input is ${bytes} bytes, more than MAX_INPUT_BYTES (${maxBytes})`);
}

function destroyBody(body: unknown): void {
  (body as { destroy?: () => void } | undefined)?.destroy?.();
}

/** An abort from our own signal is reported by the caller from the signal's reason, not as an AWS error. */
function abortAware(error: unknown, signal: AbortSignal, operation: string): MediaError {
  if (signal.aborted) return new MediaError("aborted", { code: "aborted", category: "cancelled", cause: error });
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "AbortError") return new MediaError("aborted", { code: "aborted", category: "cancelled", cause: error });
  const wrapped = fromAwsError(error, operation);
  return wrapped.code === "aws-unreachable" && (error as NodeJS.ErrnoException).code ? toMediaError(error) : wrapped;
}
