import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { processingError } from "../../errors.ts";
import { probeMedia } from "../../media/ffprobe.ts";
import { aacCodecString, h264CodecString, measureBandwidth, parseMediaPlaylist, type VariantStream } from "./master-playlist.ts";

/**
 * Measures what ffmpeg actually wrote for one rendition: its segments (sizes, durations),
 * bitrates, and the codec profile/level and frame rate read back from the first segment.
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

export async function measureRendition(hlsDir: string, name: string, options: { segmentSeconds: number; signal: AbortSignal; expectVideo: boolean }): Promise<RenditionStats> {
  const folder = path.join(hlsDir, name);
  const playlist = parseMediaPlaylist(await readFile(path.join(folder, "index.m3u8"), "utf8"));
  if (playlist.segments.length === 0 || !playlist.ended) throw processingError("hls-incomplete", `ffmpeg wrote no complete playlist for rendition ${name}`);
  const segments = await Promise.all(
    playlist.segments.map(async (segment) => ({ durationSec: segment.durationSec, bytes: (await stat(path.join(folder, segment.uri))).size })),
  );
  const initBytes = playlist.initUri ? (await stat(path.join(folder, playlist.initUri))).size : 0;
  const { peak, average } = measureBandwidth(segments, options.segmentSeconds);
  // The init segment carries the codec configuration for fMP4; a TS segment carries its own.
  const probeTarget = path.join(folder, playlist.initUri ?? playlist.segments[0]!.uri);
  const probe = await probeMedia(probeTarget, { demuxers: playlist.initUri ? ["mov"] : ["mpegts"], signal: options.signal });
  if (options.expectVideo && !probe.video) throw processingError("hls-no-video", `rendition ${name} has no video stream`);
  const codecs = [
    ...(probe.video ? [h264CodecString(probe.video.profile, probe.video.level) ?? "avc1.640028"] : []),
    ...(probe.audio ? [aacCodecString(probe.audio.profile)] : []),
  ];
  return {
    name,
    playlistVersion: playlist.version ?? 3,
    segmentCount: segments.length,
    bytes: segments.reduce((sum, segment) => sum + segment.bytes, initBytes),
    durationSec: segments.reduce((sum, segment) => sum + segment.durationSec, 0),
    variant: {
      uri: `${name}/index.m3u8`,
      bandwidth: peak,
      averageBandwidth: average,
      codecs,
      resolution: probe.video ? { width: probe.video.displayWidth, height: probe.video.displayHeight } : undefined,
      frameRate: probe.video?.fps,
    },
  };
}
