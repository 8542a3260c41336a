import path from "node:path/posix";
import { HLS_FILE_PATTERN } from "./validation.ts";

/**
 * The console's video player reads a job's HLS ladder through the API (GET …/jobs/{id}/hls?file=),
 * because the bucket is private and a player fetches segments with XHR, which presigned URLs
 * would only allow with a CORS rule on the bucket. Each playlist is served with its URIs
 * rewritten to that route (pure function below); segments are streamed from S3 as they are.
 */
const FILE = new RegExp(HLS_FILE_PATTERN);

/** `file` of the hls route for a URI written in the playlist at `playlistFile`; undefined if it leaves the folder or is absolute. */
export function resolveHlsUri(playlistFile: string, uri: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri) || uri.startsWith("/")) return undefined;
  const resolved = path.normalize(path.join(path.dirname(playlistFile), uri.split(/[?#]/)[0]!));
  return FILE.test(resolved) && !resolved.split("/").includes("..") ? resolved : undefined;
}

const routeFor = (file: string) => `hls?file=${encodeURIComponent(file)}`;

/**
 * Rewrites URI lines and `URI="…"` attributes (EXT-X-MAP, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF)
 * to the hls route, relative to the playlist's own URL. A URI that would leave the job's folder
 * is dropped with its line: our playlists never hold one, and the route would refuse it anyway.
 */
export function rewritePlaylist(
  text: string,
  playlistFile: string,
  route: (file: string) => string = routeFor,
): string {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === "") {
      out.push(line);
      continue;
    }
    if (trimmed.startsWith("#")) {
      let keep = true;
      const rewritten = line.replace(/URI="([^"]*)"/g, (_match, uri: string) => {
        const file = resolveHlsUri(playlistFile, uri);
        if (!file) keep = false;
        return `URI="${route(file ?? "")}"`;
      });
      if (keep) out.push(rewritten);
      continue;
    }
    const file = resolveHlsUri(playlistFile, trimmed);
    if (file) out.push(route(file));
    // A dropped URI line leaves its EXTINF / EXT-X-STREAM-INF tag without a target: drop that too.
    else if (out.length > 0 && /^#EXT(INF|-X-STREAM-INF)/.test(out[out.length - 1]!)) out.pop();
  }
  return out.join("\n");
}
