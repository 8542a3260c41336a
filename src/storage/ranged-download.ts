import type { FileHandle } from "node:fs/promises";
import { open } from "node:fs/promises";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type GetObjectCommandOutput, type S3Client } from "@aws-sdk/client-s3";

/**
 * A large object comes down as ranged GETs of DOWNLOAD_PART_BYTES, DOWNLOAD_PARALLEL at a time,
 * each written at its offset of one file: S3's own guidance for large objects, since one
 * connection carries roughly 100 MB/s (a 2 GB upload took ~20 s through one stream). Every part
 * after the first names the first response's ETag (If-Match), so an object replaced while it
 * comes down fails the download (412) instead of splicing two versions into one file.
 *
 * The first GET asks for the first part's range. A store that ignores Range answers with the
 * whole object (no Content-Range): that one response is the download. An empty object has no
 * satisfiable range (416): it is fetched with a plain GET.
 */
export const DOWNLOAD_PART_BYTES = 16 * 1024 * 1024;
export const DOWNLOAD_PARALLEL = 4;

export interface RangedDownloadOptions {
  bucket: string;
  key: string;
  destination: string;
  signal: AbortSignal;
  /** Called with the object's full size once it is known, before any byte is written; throws to refuse it. */
  checkSize: (bytes: number) => void;
  /** Called with each chunk's length as it arrives; throws to stop the download (a length that lied). */
  onBytes: (bytes: number) => void;
  partBytes?: number;
  parallel?: number;
}

/** What the first response said about the object (the caller reports it). */
export type FirstResponse = Pick<GetObjectCommandOutput, "ContentType" | "ETag" | "VersionId">;

export async function rangedDownload(s3: S3Client, options: RangedDownloadOptions): Promise<FirstResponse> {
  const partBytes = options.partBytes ?? DOWNLOAD_PART_BYTES;
  const get = (signal: AbortSignal, range: string | undefined, ifMatch?: string) =>
    s3.send(
      new GetObjectCommand({
        Bucket: options.bucket,
        Key: options.key,
        ...(range ? { Range: range } : {}),
        ...(ifMatch ? { IfMatch: ifMatch } : {}),
      }),
      { abortSignal: signal },
    );
  const first = await get(options.signal, rangeHeader(0, partBytes)).catch((error: unknown) => {
    if ((error as { name?: string }).name === "InvalidRange") return get(options.signal, undefined);
    throw error;
  });
  const range = parseContentRange(first.ContentRange);
  const total = range?.total ?? first.ContentLength;
  if (total !== undefined) {
    try {
      options.checkSize(total);
    } catch (error) {
      destroyBody(first.Body);
      throw error;
    }
  }
  const file = await open(options.destination, "w").catch((error: unknown) => {
    destroyBody(first.Body);
    throw error;
  });
  try {
    const parts: Array<(signal: AbortSignal) => Promise<void>> = [
      (signal) => writeBody(first, file, 0, options.onBytes, signal),
    ];
    if (range && range.end + 1 < range.total) {
      for (let start = range.end + 1; start < range.total; start += partBytes) {
        const offset = start;
        parts.push(async (signal) => {
          const part = await get(signal, rangeHeader(offset, partBytes), first.ETag);
          const got = parseContentRange(part.ContentRange);
          if (got?.start !== offset) {
            destroyBody(part.Body);
            throw Object.assign(
              new Error(`asked for bytes from ${offset}, got ${part.ContentRange ?? "the whole object"}`),
              {
                name: "RangeMismatch",
                $metadata: {},
              },
            );
          }
          await writeBody(part, file, offset, options.onBytes, signal);
        });
      }
    }
    await runBounded(parts, options.parallel ?? DOWNLOAD_PARALLEL, options.signal);
  } finally {
    await file.close();
  }
  return { ContentType: first.ContentType, ETag: first.ETag, VersionId: first.VersionId };
}

function rangeHeader(start: number, partBytes: number): string {
  return `bytes=${start}-${start + partBytes - 1}`;
}

/** `bytes 0-16777215/62914560` → its numbers; undefined when absent or not of that form. */
export function parseContentRange(
  header: string | undefined,
): { start: number; end: number; total: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: Number(match[3]) };
}

/** Streams one response's body into the file from `offset`, counting its bytes through `onBytes`. */
async function writeBody(
  response: GetObjectCommandOutput,
  file: FileHandle,
  offset: number,
  onBytes: (bytes: number) => void,
  signal: AbortSignal,
): Promise<void> {
  let position = offset;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      try {
        onBytes(chunk.length);
      } catch (error) {
        callback(error as Error);
        return;
      }
      file.write(chunk, 0, chunk.length, position).then(
        ({ bytesWritten }) => {
          position += bytesWritten;
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await pipeline(response.Body as Readable, sink, { signal });
}

/**
 * Runs the tasks at most `parallel` at a time, in order. The first failure aborts the others
 * (each task's requests and streams take the signal it is given) and is what this rejects with.
 */
async function runBounded(
  tasks: ReadonlyArray<(signal: AbortSignal) => Promise<void>>,
  parallel: number,
  signal: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const linked = AbortSignal.any([signal, stop.signal]);
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < tasks.length && failure === undefined && !linked.aborted) {
      const task = tasks[next]!;
      next += 1;
      try {
        await task(linked);
      } catch (error) {
        failure ??= error;
        stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, tasks.length) }, lane));
  if (failure !== undefined) throw failure;
  if (signal.aborted) throw signal.reason;
}

function destroyBody(body: unknown): void {
  (body as { destroy?: () => void } | undefined)?.destroy?.();
}
