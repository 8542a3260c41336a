import type { OutputFile } from "../processor.ts";
import { AUDIO_GROUP_NAME } from "./chunk-command.ts";
import type { ChunkPlan } from "./chunk-plan.ts";
import { MEDIA_PLAYLIST_NAME } from "./hls-command.ts";
import { aacCodecString, buildMasterPlaylist, measureBandwidth, type VariantStream } from "./master-playlist.ts";

/**
 * The stitch (pure): the rung playlists list every chunk's segments in order and the master
 * names them with the audio group — written from what each chunk task recorded, nothing is
 * re-encoded. Timestamps run on across the joins (chunk-command.ts), so no discontinuity is
 * declared.
 */
export interface StoredSegment {
  /** File name inside the rung's folder (`segment_00012.ts`). */
  uri: string;
  durationSec: number;
  bytes: number;
}

/** What one chunk task recorded for each rung (or the audio task for the audio group). */
export interface PartRecord {
  /** Segments per rendition name (`720p`, or `audio`). */
  segments: Record<string, StoredSegment[]>;
  /** RFC 6381 codec string per rendition, read from its first segment. */
  codecs: Record<string, string>;
  workerId: string;
  startedAt: number;
  endedAt: number;
  /** Files the part stored besides segments (the audio task's poster and storyboard), for the job result. */
  outputs?: OutputFile[];
}

/**
 * `ended: false` is a growing EVENT playlist (a chunked video playable before it is finished);
 * `event: true` keeps the EVENT type on the finished one, since a playlist published as EVENT may
 * only be appended to (RFC 8216 §4.3.3.5): the last version adds the rest and ENDLIST.
 */
export function mediaPlaylist(
  segments: readonly StoredSegment[],
  options: { ended: boolean; event?: boolean },
): string {
  const target = Math.max(1, ...segments.map((segment) => Math.round(segment.durationSec)));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:3",
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    `#EXT-X-PLAYLIST-TYPE:${options.ended && !options.event ? "VOD" : "EVENT"}`,
    "#EXT-X-INDEPENDENT-SEGMENTS",
  ];
  for (const segment of segments) lines.push(`#EXTINF:${segment.durationSec.toFixed(6)},`, segment.uri);
  if (options.ended) lines.push("#EXT-X-ENDLIST");
  return `${lines.join("\n")}\n`;
}

export interface StitchedTree {
  /** Relative path (`720p/index.m3u8`, `master.m3u8`) → text. */
  files: Array<{ name: string; text: string }>;
  renditions: Array<{
    name: string;
    width: number;
    height: number;
    bandwidth: number;
    averageBandwidth: number;
    codecs: string;
    frameRate: number | undefined;
    segments: number;
    bytes: number;
    durationSec: number;
  }>;
}

/**
 * Rung playlists from the video parts in chunk order, the audio group's from the audio part,
 * and the master. A rung's BANDWIDTH adds the audio group's peak (a player fetches both).
 */
export function stitchTree(
  plan: ChunkPlan,
  videoParts: readonly PartRecord[],
  audioPart: PartRecord | undefined,
  frameRate: number | undefined,
  /** `ended: false`: the first chunks only, as growing EVENT playlists; `event`: the finished tree of a video published early. */
  options: { ended: boolean; event: boolean } = { ended: true, event: false },
): StitchedTree {
  const files: StitchedTree["files"] = [];
  const audioSegments = audioPart?.segments[AUDIO_GROUP_NAME] ?? [];
  const audioBandwidth = measureBandwidth(audioSegments, plan.settings.segmentSeconds);
  const withAudio = audioPart !== undefined && audioSegments.length > 0;
  if (withAudio)
    files.push({
      name: `${AUDIO_GROUP_NAME}/${MEDIA_PLAYLIST_NAME}`,
      text: mediaPlaylist(audioSegments, { ended: true }),
    });
  const renditions: StitchedTree["renditions"] = [];
  const variants: VariantStream[] = [];
  for (const rung of plan.rungs) {
    const segments = videoParts.flatMap((part) => part.segments[rung.name] ?? []);
    files.push({ name: `${rung.name}/${MEDIA_PLAYLIST_NAME}`, text: mediaPlaylist(segments, options) });
    const measured = measureBandwidth(segments, plan.settings.segmentSeconds);
    const videoCodec = videoParts[0]?.codecs[rung.name];
    const codecs = [...(videoCodec ? [videoCodec] : []), ...(withAudio ? [aacCodecString(undefined)] : [])];
    const variant: VariantStream = {
      uri: `${rung.name}/${MEDIA_PLAYLIST_NAME}`,
      bandwidth: measured.peak + (withAudio ? audioBandwidth.peak : 0),
      averageBandwidth: measured.average + (withAudio ? audioBandwidth.average : 0),
      codecs,
      resolution: { width: rung.width, height: rung.height },
      frameRate,
    };
    variants.push(variant);
    renditions.push({
      name: rung.name,
      width: rung.width,
      height: rung.height,
      bandwidth: variant.bandwidth,
      averageBandwidth: variant.averageBandwidth,
      codecs: codecs.join(","),
      frameRate: frameRate === undefined ? undefined : Math.round(frameRate * 1000) / 1000,
      segments: segments.length,
      bytes: segments.reduce((sum, segment) => sum + segment.bytes, 0),
      durationSec: Math.round(segments.reduce((sum, segment) => sum + segment.durationSec, 0) * 1000) / 1000,
    });
  }
  files.push({
    name: "master.m3u8",
    text: buildMasterPlaylist(
      variants,
      3,
      [],
      withAudio ? { groupId: "aac", name: "audio", uri: `${AUDIO_GROUP_NAME}/${MEDIA_PLAYLIST_NAME}` } : undefined,
    ),
  });
  return { files, renditions };
}
