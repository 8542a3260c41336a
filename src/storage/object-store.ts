import { readFile, stat } from "node:fs/promises";
import { createReadStream } from "node:fs";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { fromAwsError, MediaError, processingError, toMediaError, transientError } from "../errors.ts";
import { bareETag } from "../s3-events/object-ref.ts";
import { rangedDownload } from "./ranged-download.ts";

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
   * Streams an object to `destination` (a large one in parallel ranged GETs, ranged-download.ts),
   * refusing it once it passes `maxBytes` (checked on the declared length first and on the bytes
   * actually received, since a length can lie).
   */
  async download(
    bucket: string,
    key: string,
    destination: string,
    maxBytes: number,
    signal: AbortSignal,
  ): Promise<DownloadResult> {
    let declared: number | undefined;
    let received = 0;
    let first;
    try {
      first = await rangedDownload(this.s3, {
        bucket,
        key,
        destination,
        signal,
        checkSize: (bytes) => {
          if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
          declared = bytes;
        },
        onBytes: (bytes) => {
          received += bytes;
          if (received > maxBytes) throw tooLarge(received, maxBytes);
        },
      });
    } catch (error) {
      if (error instanceof MediaError) throw error;
      throw abortAware(error, signal, "s3:getObject");
    }
    // A connection that ends early without an error would leave a hole or a short file.
    if (declared !== undefined && received !== declared)
      throw transientError("download-incomplete", `s3:getObject received ${received} of ${declared} bytes`);
    return {
      bytes: received,
      contentType: first.ContentType,
      eTag: bareETag(first.ETag),
      versionId: first.VersionId,
    };
  }

  /**
   * Uploads a file or a buffer, returning the bytes written: multipart above MULTIPART_PART_BYTES
   * whichever it is (a lossless 12 MP PNG is a 30 MB buffer; S3-compatible stores and proxies cap
   * single-request bodies well below S3's 5 GB, the bundled emulator at 11 MiB).
   */
  async upload(request: UploadRequest): Promise<number> {
    const { bucket, key, body, contentType, cacheControl, signal } = request;
    try {
      // A file goes up from memory when it fits one PUT: a stream is consumed by the first
      // attempt, so the SDK could not retry a 500 or a reset itself (the job's retry of the whole
      // message is minutes later), and its chunked checksum trailer cost a quarter more CPU per
      // segment (issue 20). At most 8 MiB per upload in flight; larger files stream into parts.
      const source =
        "file" in body
          ? {
              size: (await stat(body.file)).size,
              whole: () => readFile(body.file),
              stream: () => createReadStream(body.file),
            }
          : bufferSource(typeof body.buffer === "string" ? Buffer.from(body.buffer) : body.buffer);
      const { size } = source;
      if (size <= MULTIPART_PART_BYTES) {
        await this.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: await source.whole(),
            ContentLength: size,
            ContentType: contentType,
            CacheControl: cacheControl,
          }),
          signal ? { abortSignal: signal } : {},
        );
        return size;
      }
      const upload = new Upload({
        client: this.s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: source.stream(),
          ContentType: contentType,
          CacheControl: cacheControl,
        },
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

  async head(
    bucket: string,
    key: string,
  ): Promise<{
    size: number;
    eTag: string | undefined;
    versionId: string | undefined;
    contentType: string | undefined;
  }> {
    try {
      const response = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: response.ContentLength ?? 0,
        eTag: bareETag(response.ETag),
        versionId: response.VersionId,
        contentType: response.ContentType,
      };
    } catch (error) {
      throw fromAwsError(error, "s3:getObject(head)");
    }
  }

  /**
   * The first `bytes` bytes of an object (one ranged GET), for sniffing its type without
   * downloading it; fewer when the object is shorter. `versionId` reads that version.
   */
  async readHead(
    bucket: string,
    key: string,
    bytes: number,
    options: { versionId?: string | undefined; signal?: AbortSignal } = {},
  ): Promise<Buffer> {
    try {
      const response = await this.s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          Range: `bytes=0-${bytes - 1}`,
          ...(options.versionId ? { VersionId: options.versionId } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      const body = Buffer.from(await response.Body!.transformToByteArray());
      // A store that ignores Range sends the whole object: keep only the head.
      return body.subarray(0, bytes);
    } catch (error) {
      throw fromAwsError(error, "s3:getObject(range)");
    }
  }

  /** A small JSON object (a manifest), or undefined when there is none. */
  async readJson(bucket: string, key: string, signal?: AbortSignal): Promise<unknown> {
    try {
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      const text = await response.Body!.transformToString("utf8");
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw fromAwsError(error, "s3:getObject");
    }
  }

  /** Every key under `prefix`, with its LastModified. */
  async list(
    bucket: string,
    prefix: string,
    signal?: AbortSignal,
  ): Promise<Array<{ key: string; lastModified: Date | undefined }>> {
    const found: Array<{ key: string; lastModified: Date | undefined }> = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.s3 },
        { Bucket: bucket, Prefix: prefix },
        ...(signal ? [{ abortSignal: signal }] : []),
      )) {
        for (const object of page.Contents ?? [])
          if (object.Key !== undefined) found.push({ key: object.Key, lastModified: object.LastModified });
      }
    } catch (error) {
      throw fromAwsError(error, "s3:listObjectsV2");
    }
    return found;
  }

  /** Deletes keys, a thousand per request (DeleteObjects' limit); a key already gone is not an error. */
  async deleteKeys(bucket: string, keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let response;
      try {
        response = await this.s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (error) {
        throw fromAwsError(error, "s3:deleteObjects");
      }
      const failed = response.Errors ?? [];
      if (failed.length > 0)
        throw fromAwsError(
          Object.assign(new Error(failed[0]?.Message ?? "delete failed"), {
            name: failed[0]?.Code ?? "DeleteFailed",
            $metadata: {},
          }),
          `s3:deleteObjects (${failed.length} of ${batch.length} keys)`,
        );
    }
  }
}

/** An upload body already in memory: the same bytes for one PUT and for the parts. */
function bufferSource(bytes: Buffer): { size: number; whole: () => Promise<Buffer>; stream: () => Buffer } {
  return { size: bytes.byteLength, whole: async () => bytes, stream: () => bytes };
}

/** DeleteObjects takes at most 1000 keys. */
const DELETE_BATCH = 1000;

function isNotFound(error: unknown): boolean {
  const aws = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return aws?.name === "NoSuchKey" || aws?.name === "NotFound" || aws?.$metadata?.httpStatusCode === 404;
}

function tooLarge(bytes: number, maxBytes: number): MediaError {
  return processingError("input-too-large", `input is ${bytes} bytes, more than MAX_INPUT_BYTES (${maxBytes})`);
}

/** An abort from our own signal is reported by the caller from the signal's reason, not as an AWS error. */
function abortAware(error: unknown, signal: AbortSignal, operation: string): MediaError {
  if (signal.aborted) return new MediaError("aborted", { code: "aborted", category: "cancelled", cause: error });
  const name = (error as { name?: string } | undefined)?.name;
  if (name === "AbortError") return new MediaError("aborted", { code: "aborted", category: "cancelled", cause: error });
  const wrapped = fromAwsError(error, operation);
  return wrapped.code === "aws-unreachable" && (error as NodeJS.ErrnoException).code ? toMediaError(error) : wrapped;
}
