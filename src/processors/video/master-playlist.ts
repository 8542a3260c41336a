/**
 * HLS playlists (RFC 8216): parsing the media playlists ffmpeg wrote and writing the master
 * playlist from measured values (pure). ffmpeg 5.1's own master playlist has neither
 * AVERAGE-BANDWIDTH nor FRAME-RATE, and its BANDWIDTH is the configured rate, not the measured peak.
 */
export interface MediaPlaylist {
  version: number | undefined;
  targetDurationSec: number | undefined;
  /** `#EXT-X-MAP` URI (fMP4 init segment). */
  initUri: string | undefined;
  segments: Array<{ uri: string; durationSec: number }>;
  ended: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const playlist: MediaPlaylist = {
    version: undefined,
    targetDurationSec: undefined,
    initUri: undefined,
    segments: [],
    ended: false,
  };
  let pendingDuration: number | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "") continue;
    if (line.startsWith("#EXT-X-VERSION:")) playlist.version = Number(line.slice(15));
    else if (line.startsWith("#EXT-X-TARGETDURATION:")) playlist.targetDurationSec = Number(line.slice(22));
    else if (line.startsWith("#EXT-X-MAP:")) playlist.initUri = /URI="([^"]+)"/.exec(line)?.[1];
    else if (line.startsWith("#EXTINF:")) pendingDuration = Number.parseFloat(line.slice(8));
    else if (line === "#EXT-X-ENDLIST") playlist.ended = true;
    else if (!line.startsWith("#")) {
      playlist.segments.push({ uri: line, durationSec: pendingDuration ?? 0 });
      pendingDuration = undefined;
    }
  }
  return playlist;
}

export interface VariantStream {
  /** Media playlist URI relative to the master (`720p/index.m3u8`). */
  uri: string;
  /** Peak segment bitrate, bit/s. */
  bandwidth: number;
  /** Average bitrate over the whole rendition, bit/s. */
  averageBandwidth: number;
  /** RFC 6381 codec strings, e.g. `avc1.64001f`, `mp4a.40.2`. */
  codecs: string[];
  resolution?: { width: number; height: number } | undefined;
  frameRate?: number | undefined;
}

/** An I-frame playlist of a rendition, for `EXT-X-I-FRAME-STREAM-INF` (RFC 8216 §4.3.4.3). */
export interface IFrameStream {
  uri: string;
  bandwidth: number;
  averageBandwidth: number;
  /** The video codec only: an I-frame stream carries no audio. */
  codecs: string[];
  resolution?: { width: number; height: number } | undefined;
}

/** An audio rendition group (`EXT-X-MEDIA TYPE=AUDIO`, RFC 8216 §4.3.4.1) that every variant names. */
export interface AudioGroup {
  groupId: string;
  name: string;
  /** Media playlist URI relative to the master (`audio/index.m3u8`). */
  uri: string;
}

export function buildMasterPlaylist(
  variants: readonly VariantStream[],
  version: number,
  iFrameStreams: readonly IFrameStream[] = [],
  audioGroup?: AudioGroup,
): string {
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${version}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  if (audioGroup)
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="${audioGroup.groupId}",NAME="${audioGroup.name}",DEFAULT=YES,AUTOSELECT=YES,URI="${audioGroup.uri}"`,
    );
  for (const variant of variants) {
    const attributes = [
      `BANDWIDTH=${Math.ceil(variant.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.ceil(variant.averageBandwidth)}`,
    ];
    if (variant.resolution) attributes.push(`RESOLUTION=${variant.resolution.width}x${variant.resolution.height}`);
    if (variant.codecs.length > 0) attributes.push(`CODECS="${variant.codecs.join(",")}"`);
    if (variant.frameRate !== undefined) attributes.push(`FRAME-RATE=${variant.frameRate.toFixed(3)}`);
    if (audioGroup) attributes.push(`AUDIO="${audioGroup.groupId}"`);
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`, variant.uri);
  }
  for (const stream of iFrameStreams) {
    const attributes = [
      `BANDWIDTH=${Math.ceil(stream.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.ceil(stream.averageBandwidth)}`,
    ];
    if (stream.resolution) attributes.push(`RESOLUTION=${stream.resolution.width}x${stream.resolution.height}`);
    if (stream.codecs.length > 0) attributes.push(`CODECS="${stream.codecs.join(",")}"`);
    attributes.push(`URI="${stream.uri}"`);
    lines.push(`#EXT-X-I-FRAME-STREAM-INF:${attributes.join(",")}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Peak and average bitrate of a rendition from its segment sizes. A very short last segment
 * would otherwise claim an absurd peak (one keyframe over a tenth of a second), so segment
 * durations count as at least half the target duration in the peak.
 */
export function measureBandwidth(
  segments: ReadonlyArray<{ durationSec: number; bytes: number }>,
  segmentSeconds: number,
): { peak: number; average: number } {
  const totalBytes = segments.reduce((sum, segment) => sum + segment.bytes, 0);
  const totalSeconds = segments.reduce((sum, segment) => sum + segment.durationSec, 0);
  const floorSeconds = Math.min(segmentSeconds / 2, totalSeconds);
  const average = totalSeconds > 0 ? (totalBytes * 8) / totalSeconds : 0;
  const peak = Math.max(
    average,
    ...segments.map((segment) => (segment.bytes * 8) / Math.max(segment.durationSec, floorSeconds, 0.001)),
  );
  return { peak: Math.ceil(peak), average: Math.ceil(average) };
}

const H264_PROFILE_HEX: Record<string, string> = {
  "Constrained Baseline": "42e0",
  Baseline: "4200",
  Main: "4d40",
  Extended: "5800",
  High: "6400",
  "High 10": "6e00",
  "High 4:2:2": "7a00",
  "High 4:4:4 Predictive": "f400",
};

/** `avc1.PPCCLL` from ffprobe's profile name and level (RFC 6381 §3.3); undefined if unknown. */
export function h264CodecString(profile: string | undefined, level: number | undefined): string | undefined {
  const profileHex = profile ? H264_PROFILE_HEX[profile] : undefined;
  if (!profileHex || level === undefined || level <= 0) return undefined;
  return `avc1.${profileHex}${level.toString(16).padStart(2, "0")}`;
}

/**
 * `avc1.PPCCLL` read from the stored H.264 configuration (RFC 6381 §3.3): the avcC box of an
 * fMP4 init segment, or the first sequence parameter set (NAL type 7) of a TS segment, which
 * x264 writes in the segment's first packet. The constraint-flags byte is the encoder's, which
 * a profile name cannot give (x264's Constrained Baseline is `42c0`, not the `42e0` of Apple's
 * examples). Undefined when neither is found in the bytes given.
 */
export function h264CodecStringFromBytes(bytes: Buffer): string | undefined {
  const hex = (offset: number) =>
    offset + 3 <= bytes.length
      ? [0, 1, 2].map((index) => bytes[offset + index]!.toString(16).padStart(2, "0")).join("")
      : undefined;
  const avcC = bytes.indexOf("avcC", 0, "latin1");
  if (avcC >= 0) {
    const value = hex(avcC + 5);
    return value ? `avc1.${value}` : undefined;
  }
  for (let offset = 0; offset + 7 < bytes.length; offset += 1) {
    if (bytes[offset] === 0 && bytes[offset + 1] === 0 && bytes[offset + 2] === 1 && (bytes[offset + 3]! & 0x1f) === 7)
      return `avc1.${hex(offset + 4)!}`;
  }
  return undefined;
}

/** `mp4a.40.2` for AAC-LC, `mp4a.40.5` for HE-AAC, `mp4a.40.29` for HE-AACv2. */
export function aacCodecString(profile: string | undefined): string {
  if (profile === "HE-AAC") return "mp4a.40.5";
  if (profile === "HE-AACv2") return "mp4a.40.29";
  return "mp4a.40.2";
}
