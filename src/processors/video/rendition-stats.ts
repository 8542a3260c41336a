import { readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { processingError } from "../../errors.ts";
import { probeMedia, type VideoStreamProbe } from "../../media/ffprobe.ts";
import { buildIFramePlaylist, IFRAME_PLAYLIST_NAME, type IFrameSegment } from "./iframe-playlist.ts";
import {
  aacCodecString,
  h264CodecString,
  h264CodecStringFromBytes,
  measureBandwidth,
  parseMediaPlaylist,
  type IFrameStream,
  type VariantStream,
} from "./master-playlist.ts";
import { tsKeyframeIndex } from "./ts-keyframes.ts";

/**
 * Measures what ffmpeg actually wrote for one rendition: its segments (sizes, durations),
 * bitrates, and the codec profile/level and frame rate read back from the first media segment.
 * This is also the "check the output, not the exit code" step: a rendition with no segments
 * or an unreadable first segment fails the job.
 */
export interface RenditionStats {
  name: string;
  playlistVersion: number;
  segmentCount: number;
  bytes: number;
  durationSec: number;
  variant: VariantStream;
}

export interface MeasureOptions {
  segmentSeconds: number;
  signal: AbortSignal;
  expectVideo: boolean;
  /** Where the fMP4 probe file (init + first segment) is written; never inside the HLS tree, which is uploaded whole. */
  scratchDir: string;
  /**
   * Video frames the encode wrote per rung (ffmpeg's final progress `frame`; every rung gets
   * the same frames, split from one decode). With the rung's duration it gives the real rate;
   * without it the first segment's frames are counted instead.
   */
  encodedFrames?: number | undefined;
  /**
   * What the command itself fixes about the rendition, so the first segment need not be probed
   * again: its streams, the rung's exact size (the filter graph scales to it), AAC-LC audio,
   * and the frame-rate grid ffmpeg is expected to write. The probe still runs when a fact is not
   * settled this way: an unreadable H.264 configuration, no frame count, or a counted rate that
   * is not the expected grid (variable-rate video, whose grid only the output says).
   */
  known?: KnownRendition | undefined;
}

export interface KnownRendition {
  video: { width: number; height: number; gridFps: number | undefined } | undefined;
  audio: boolean;
}

/**
 * Writes `<rung>/iframes.m3u8` for a TS rendition with video and returns its master entry; each
 * segment is read once (a few MB) to find its keyframes. fMP4 segments hold one fragment per
 * segment, so their keyframes are not separately addressable: none is written for them.
 */
export async function writeIFramePlaylist(
  hlsDir: string,
  rendition: RenditionStats,
  keyframeSeconds: number,
): Promise<IFrameStream | undefined> {
  const folder = path.join(hlsDir, rendition.name);
  const playlist = parseMediaPlaylist(await readFile(path.join(folder, "index.m3u8"), "utf8"));
  if (playlist.initUri || !rendition.variant.resolution) return undefined;
  const segments: IFrameSegment[] = [];
  for (const segment of playlist.segments)
    segments.push({
      uri: segment.uri,
      durationSec: segment.durationSec,
      index: tsKeyframeIndex(await readFile(path.join(folder, segment.uri))),
    });
  const built = buildIFramePlaylist(segments, keyframeSeconds);
  if (built.count === 0) return undefined;
  await writeFile(path.join(folder, IFRAME_PLAYLIST_NAME), built.text);
  return {
    uri: `${rendition.name}/${IFRAME_PLAYLIST_NAME}`,
    bandwidth: built.bandwidth,
    averageBandwidth: built.averageBandwidth,
    codecs: rendition.variant.codecs.filter((codec) => codec.startsWith("avc1")),
    resolution: rendition.variant.resolution,
  };
}

export async function measureRendition(hlsDir: string, name: string, options: MeasureOptions): Promise<RenditionStats> {
  const folder = path.join(hlsDir, name);
  const playlist = parseMediaPlaylist(await readFile(path.join(folder, "index.m3u8"), "utf8"));
  if (playlist.segments.length === 0 || !playlist.ended)
    throw processingError("hls-incomplete", `ffmpeg wrote no complete playlist for rendition ${name}`);
  const segments = await Promise.all(
    playlist.segments.map(async (segment) => ({
      durationSec: segment.durationSec,
      bytes: (await stat(path.join(folder, segment.uri))).size,
    })),
  );
  const initBytes = playlist.initUri ? (await stat(path.join(folder, playlist.initUri))).size : 0;
  const { peak, average } = measureBandwidth(segments, options.segmentSeconds);
  const first = playlist.segments[0]!;
  const configuration = await readFile(path.join(folder, playlist.initUri ?? first.uri)).then((bytes) =>
    h264CodecStringFromBytes(bytes.subarray(0, 64 * 1024)),
  );
  const base = {
    name,
    playlistVersion: playlist.version ?? 3,
    segmentCount: segments.length,
    bytes: segments.reduce((sum, segment) => sum + segment.bytes, initBytes),
    durationSec: segments.reduce((sum, segment) => sum + segment.durationSec, 0),
  };
  const known = knownVariant(options, configuration, segments);
  if (known)
    return { ...base, variant: { uri: `${name}/index.m3u8`, bandwidth: peak, averageBandwidth: average, ...known } };
  const probe = await probeFirstSegment(folder, name, playlist.initUri, first.uri, options);
  if (options.expectVideo && !probe.video)
    throw processingError("hls-no-video", `rendition ${name} has no video stream`);
  const codecs = [
    ...(probe.video ? [configuration ?? h264CodecString(probe.video.profile, probe.video.level) ?? "avc1.640028"] : []),
    ...(probe.audio ? [aacCodecString(probe.audio.profile)] : []),
  ];
  return {
    ...base,
    variant: {
      uri: `${name}/index.m3u8`,
      bandwidth: peak,
      averageBandwidth: average,
      codecs,
      resolution: probe.video ? { width: probe.video.displayWidth, height: probe.video.displayHeight } : undefined,
      frameRate: probe.video
        ? realFrameRate(probe.video, framesOverTime(probe.video, options.encodedFrames, segments, first.durationSec))
        : undefined,
    },
  };
}

/**
 * The variant's codecs, size and frame rate from what the command fixed (pure), or undefined
 * when one of them is not settled without a probe. The rate is the expected grid when the
 * frames ffmpeg reported encoding, over the rendition's duration, confirm it (within 1 %, the
 * tolerance {@link realFrameRate} applies).
 */
export function knownVariant(
  options: Pick<MeasureOptions, "known" | "encodedFrames" | "expectVideo">,
  configuration: string | undefined,
  segments: ReadonlyArray<{ durationSec: number }>,
): Pick<VariantStream, "codecs" | "resolution" | "frameRate"> | undefined {
  const known = options.known;
  if (!known || (known.video !== undefined) !== options.expectVideo) return undefined;
  const audio = known.audio ? [aacCodecString("LC")] : [];
  if (!known.video) return { codecs: audio, resolution: undefined, frameRate: undefined };
  if (!configuration) return undefined;
  const counted = framesOverTime({ packetCount: undefined }, options.encodedFrames, segments, 0);
  const grid = known.video.gridFps;
  if (counted === undefined || grid === undefined || Math.abs(grid - counted) >= grid * 0.01) return undefined;
  return {
    codecs: [configuration, ...audio],
    resolution: { width: known.video.width, height: known.video.height },
    frameRate: grid,
  };
}

/**
 * A TS segment carries its own codec configuration; an fMP4 media segment is only readable
 * behind its init segment, and the init segment alone has no samples: probed alone it gives the
 * track's time base as its frame rate (FRAME-RATE=15360.000) and no level (so CODECS fell back
 * to a guess). The two are joined into one file in the scratch dir and probed together.
 */
async function probeFirstSegment(
  folder: string,
  name: string,
  initUri: string | undefined,
  segmentUri: string,
  options: MeasureOptions,
) {
  const segmentPath = path.join(folder, segmentUri);
  if (!initUri) return probeMedia(segmentPath, { demuxers: ["mpegts"], signal: options.signal, countPackets: true });
  const joined = path.join(options.scratchDir, `probe-${name}.mp4`);
  await writeFile(joined, Buffer.concat([await readFile(path.join(folder, initUri)), await readFile(segmentPath)]));
  try {
    return await probeMedia(joined, { demuxers: ["mov"], signal: options.signal, countPackets: true });
  } finally {
    await rm(joined, { force: true });
  }
}

/** Frames per second counted: all encoded frames over the rung's duration, else the first segment's packets over its duration. */
function framesOverTime(
  video: Pick<VideoStreamProbe, "packetCount">,
  encodedFrames: number | undefined,
  segments: ReadonlyArray<{ durationSec: number }>,
  firstDurationSec: number,
): number | undefined {
  const totalSec = segments.reduce((sum, segment) => sum + segment.durationSec, 0);
  if (encodedFrames !== undefined && encodedFrames > 0 && totalSec > 0) return encodedFrames / totalSec;
  return video.packetCount !== undefined && firstDurationSec > 0 ? video.packetCount / firstDurationSec : undefined;
}

/**
 * The rung's real frame rate: frames counted over time, never above the stream's stated rate.
 * For constant-rate video the two agree (the stated, exact rate wins: 29.970 rather than a
 * rounded count); for variable-rate video the stated rate is only its time grid (120 for a
 * phone clip averaging 30 fps), and the count is the truth.
 */
export function realFrameRate(
  video: Pick<VideoStreamProbe, "fps" | "baseFps">,
  counted: number | undefined,
): number | undefined {
  const stated = video.baseFps ?? video.fps;
  if (counted === undefined) return stated;
  if (stated === undefined) return counted;
  return stated - counted < stated * 0.01 ? stated : counted;
}
