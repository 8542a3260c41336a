import type { JobRecord } from "../../jobs/job.model.ts";
import { hlsFolder, resultOf, type StoredOutput } from "./media-items.ts";
import { itemOutputUrl, objectUrl, signedOrPlain, type OutputUrlSigner } from "./output-urls.ts";

/**
 * What a player needs for one item. A video plays its original at once while it is processed
 * (browsers play most uploads' MP4/WebM directly) and switches to HLS once the job completed;
 * the web MP4 is the fallback for players without HLS. HLS goes through the stream route (or the
 * CDN), because a redirect on the master playlist would break its relative segment URIs.
 */
export interface PlaybackInfo {
  key: string;
  jobId: string;
  status: JobRecord["status"];
  kind: string;
  /** What to play now: `hls` once ready, `mp4` (web MP4 without a ladder), `original` while processing, `none`. */
  playback: { type: "hls" | "mp4" | "original" | "none"; url: string | null };
  hls: string | null;
  mp4: string | null;
  original: string | null;
  poster: string | null;
  storyboard: { vtt: string | null; sprite: string | null };
  durationSec: number | null;
  width: number | null;
  height: number | null;
  /** width / height, rounded to 4 places. */
  aspectRatio: number | null;
  waveform: { json: string | null; dat: string | null; png: string | null };
  pages: Array<{ page: number; url: string }>;
  thumbnails: Array<{ variant: string; url: string; width?: number; height?: number }>;
}

export interface PlaybackContext {
  signer: OutputUrlSigner;
  outputBucket: string | undefined;
  /** The stream route's URL for a file of the item's HLS folder (relative to this API or absolute), unsigned. */
  streamUrl: (file: string) => string;
}

export async function playbackOf(job: JobRecord, context: PlaybackContext): Promise<PlaybackInfo> {
  const bucket = context.outputBucket ?? job.source.bucket;
  const result = job.status === "completed" ? resultOf(job) : undefined;
  const outputs = result?.outputs ?? [];
  const find = (variant: string) => outputs.find((output) => output.variant === variant);
  const url = async (output: StoredOutput | undefined) =>
    output ? itemOutputUrl(context.signer, bucket, job.source.key, output) : null;
  const metadata = (result?.metadata ?? {}) as {
    durationSec?: unknown;
    video?: { displayWidth?: unknown; displayHeight?: unknown; width?: unknown; height?: unknown };
  };
  const folder = hlsFolder(result);
  // Signed delivery plays through the stream route even with a CDN: relative URIs in a playlist
  // fetched straight from the CDN would lose the signature, the route signs each of them.
  const viaCdn = context.signer.cdnBaseUrl !== undefined && !context.signer.delivery;
  const hls = folder
    ? viaCdn
      ? await objectUrl(context.signer, bucket, `${folder}/master.m3u8`)
      : signedOrPlain(context.signer, context.streamUrl("master.m3u8"))
    : null;
  const mp4 = await url(find("web_mp4"));
  const processingVideo =
    job.status !== "completed" && job.status !== "failed" && (job.type === "video" || job.type === "pending");
  // The original is never cached by a CDN under our layout: it is signed from the source bucket.
  const original = processingVideo
    ? await objectUrl(context.signer, job.source.bucket, job.source.key, { viaCdn: false })
    : null;
  const width =
    numberOr(metadata.video?.displayWidth) ?? numberOr(metadata.video?.width) ?? numberOr(find("optimized")?.width);
  const height =
    numberOr(metadata.video?.displayHeight) ?? numberOr(metadata.video?.height) ?? numberOr(find("optimized")?.height);
  const pages = await Promise.all(
    outputs
      .filter((output) => /^page_\d+$/.test(output.variant))
      .map(async (output) => ({ page: Number(output.variant.slice(5)), url: (await url(output))! })),
  );
  const thumbnails = await Promise.all(
    outputs
      .filter(
        (output) => /^thumb(_|$)/.test(output.variant) || output.variant === "poster" || output.variant === "cover",
      )
      .map(async (output) => ({
        variant: output.variant,
        url: (await url(output))!,
        ...(output.width ? { width: output.width } : {}),
        ...(output.height ? { height: output.height } : {}),
      })),
  );
  const playback: PlaybackInfo["playback"] = hls
    ? { type: "hls", url: hls }
    : mp4
      ? { type: "mp4", url: mp4 }
      : original
        ? { type: "original", url: original }
        : { type: "none", url: null };
  return {
    key: job.source.key,
    jobId: job.id,
    status: job.status,
    kind: job.type,
    playback,
    hls,
    mp4,
    original,
    poster: await url(find("poster") ?? find("cover")),
    storyboard: { vtt: await url(find("storyboard_vtt")), sprite: await url(find("storyboard_sprite")) },
    durationSec: numberOr(metadata.durationSec) ?? null,
    width: width ?? null,
    height: height ?? null,
    aspectRatio: width && height ? Math.round((width / height) * 10_000) / 10_000 : null,
    waveform: {
      json: await url(find("waveform_json")),
      dat: await url(find("waveform_dat")),
      png: await url(find("waveform_png")),
    },
    pages: pages.sort((a, b) => a.page - b.page),
    thumbnails,
  };
}

const numberOr = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;
