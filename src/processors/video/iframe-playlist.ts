import type { TsKeyframeIndex } from "./ts-keyframes.ts";

/**
 * The I-frame playlist of one TS rendition (RFC 8216 §4.3.3.6, pure): every keyframe as a byte
 * range of its segment, lasting until the next keyframe, each segment's PAT/PMT named by
 * EXT-X-MAP (so a player can decode a keyframe that is not at a segment's start). Players use
 * it for scrubbing previews and fast-forward. With keyframes every 2 s, that is 3 per 6 s segment.
 */
export interface IFrameSegment {
  uri: string;
  durationSec: number;
  index: TsKeyframeIndex;
}

export interface IFramePlaylist {
  text: string;
  /** Peak and average of keyframe bytes over keyframe durations, bit/s (the I-frame stream's BANDWIDTH). */
  bandwidth: number;
  averageBandwidth: number;
  count: number;
}

export const IFRAME_PLAYLIST_NAME = "iframes.m3u8";

/** `keyframeSeconds` floors the durations the peak is measured over, so a last keyframe shown for 40 ms does not claim an absurd peak. */
export function buildIFramePlaylist(segments: readonly IFrameSegment[], keyframeSeconds: number): IFramePlaylist {
  const entries: Array<{ uri: string; initLength: number; offset: number; length: number; durationSec: number }> = [];
  let segmentStartSec = 0;
  for (const segment of segments) {
    const { keyframes, initLength } = segment.index;
    const first = keyframes[0]?.ptsSec ?? 0;
    keyframes.forEach((keyframe, position) => {
      const startSec = segmentStartSec + (keyframe.ptsSec - first);
      const nextSec =
        position + 1 < keyframes.length
          ? segmentStartSec + (keyframes[position + 1]!.ptsSec - first)
          : segmentStartSec + segment.durationSec;
      entries.push({
        uri: segment.uri,
        initLength,
        offset: keyframe.offset,
        length: keyframe.length,
        durationSec: Math.max(0.001, nextSec - startSec),
      });
    });
    segmentStartSec += segment.durationSec;
  }
  const target = Math.max(1, Math.ceil(Math.max(0, ...entries.map((entry) => entry.durationSec))));
  const lines = [
    "#EXTM3U",
    "#EXT-X-VERSION:5",
    `#EXT-X-TARGETDURATION:${target}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:VOD",
    "#EXT-X-I-FRAMES-ONLY",
  ];
  let mapped: string | undefined;
  for (const entry of entries) {
    if (mapped !== entry.uri) {
      lines.push(`#EXT-X-MAP:URI="${entry.uri}",BYTERANGE="${entry.initLength}@0"`);
      mapped = entry.uri;
    }
    lines.push(
      `#EXTINF:${entry.durationSec.toFixed(6)},`,
      `#EXT-X-BYTERANGE:${entry.length}@${entry.offset}`,
      entry.uri,
    );
  }
  lines.push("#EXT-X-ENDLIST");
  const totalBits = entries.reduce((sum, entry) => sum + entry.length * 8, 0);
  const totalSec = entries.reduce((sum, entry) => sum + entry.durationSec, 0);
  const floorSec = Math.min(keyframeSeconds / 2, totalSec || keyframeSeconds);
  const peak = Math.max(0, ...entries.map((entry) => (entry.length * 8) / Math.max(entry.durationSec, floorSec)));
  return {
    text: `${lines.join("\n")}\n`,
    bandwidth: Math.ceil(peak),
    averageBandwidth: totalSec > 0 ? Math.ceil(totalBits / totalSec) : 0,
    count: entries.length,
  };
}
