import { readdir } from "node:fs/promises";
import path from "node:path";
import { throwIfAbortedWithReason } from "../../media/tool-process.ts";
import type { OutputFile, OutputRequest } from "../processor.ts";

/**
 * Turns the HLS tree written in the work dir into output requests (`hls/<rung>/segment_00001.ts`
 * → `…/processed/<file>.<run>/hls/<rung>/segment_00001.ts`) with the right Content-Type, and uploads
 * them with bounded parallelism.
 */

/** Every output key is written by one run only (a re-upload or a retry is a new run with new keys), so it can be cached forever. */
export const IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable";

/** Content types by extension (RFC 8216 §4; `video/iso.segment` is the registered type for fMP4 media segments). */
export const HLS_CONTENT_TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
};

export type HlsFileKind = "hls_master" | "hls_playlist" | "hls_init" | "hls_segment";

export function hlsFileKind(relativePath: string): HlsFileKind {
  if (relativePath === "master.m3u8") return "hls_master";
  if (relativePath.endsWith(".m3u8")) return "hls_playlist";
  if (relativePath.endsWith(".mp4")) return "hls_init";
  return "hls_segment";
}

/** Output requests for every file under `hlsDir` (sorted: playlists last, so a player never finds a playlist before its segments). */
export async function hlsOutputRequests(hlsDir: string): Promise<OutputRequest[]> {
  const entries = await readdir(hlsDir, { recursive: true, withFileTypes: true });
  const requests: OutputRequest[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const request = hlsFileRequest(
      hlsDir,
      path.relative(hlsDir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"),
    );
    if (request) requests.push(request);
  }
  return requests.sort((a, b) => priority(a) - priority(b) || a.name.localeCompare(b.name));
}

/** The output request of one file of the tree (`720p/segment_00001.ts`, `/`-separated); undefined for what is not HLS (`.tmp` files). */
export function hlsFileRequest(hlsDir: string, relative: string): OutputRequest | undefined {
  const contentType = HLS_CONTENT_TYPES[path.posix.extname(relative)];
  if (!contentType) return undefined;
  return {
    name: `hls/${relative}`,
    variant: hlsFileKind(relative),
    body: { file: path.join(hlsDir, ...relative.split("/")) },
    contentType,
    cacheControl: IMMUTABLE_CACHE_CONTROL,
  };
}

/**
 * Runs `upload` over the requests with at most `parallel` in flight, in order within each
 * priority group: all segments (and init files) first, then media playlists, then the master.
 */
export async function uploadAll(
  requests: readonly OutputRequest[],
  upload: (request: OutputRequest) => Promise<OutputFile>,
  options: { parallel: number; signal: AbortSignal; onUploaded?: (done: number, total: number) => void },
): Promise<OutputFile[]> {
  const results: OutputFile[] = new Array<OutputFile>(requests.length);
  const groups = [0, 1, 2].map((group) =>
    requests.map((request, index) => ({ request, index })).filter(({ request }) => priority(request) === group),
  );
  let done = 0;
  for (const group of groups) {
    let next = 0;
    const worker = async () => {
      while (next < group.length) {
        const item = group[next++]!;
        throwIfAbortedWithReason(options.signal);
        results[item.index] = await upload(item.request);
        done += 1;
        options.onUploaded?.(done, requests.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.parallel, group.length) }, worker));
  }
  return results;
}

function priority(request: OutputRequest): number {
  if (request.variant === "hls_master") return 2;
  if (request.variant === "hls_playlist") return 1;
  return 0;
}
