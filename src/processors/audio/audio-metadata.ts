import { parseFile, type IAudioMetadata, type IPicture } from "music-metadata";
import { processingError } from "../../errors.ts";

/** What the audio processor reports about a source and feeds into its plan. */
export interface AudioInfo {
  /** Seconds as the container states it; a lying header can claim more than the file holds. */
  durationSec: number | undefined;
  codec: string | undefined;
  container: string | undefined;
  bitrateKbps: number | undefined;
  sampleRate: number | undefined;
  channels: number | undefined;
  lossless: boolean;
  tags: AudioTags;
}

export interface AudioTags {
  title?: string;
  artist?: string;
  album?: string;
  year?: number;
  track?: number;
  trackTotal?: number;
  genre?: string[];
}

export interface AudioMetadata {
  info: AudioInfo;
  /** The front cover if tagged as such, else the first embedded picture. */
  cover: IPicture | undefined;
}

/**
 * Reads format and tags with music-metadata. parseFile reads the file by random access: it
 * finds the type from the content (the job's input file has no extension) and reads only the
 * headers and tag blocks, whereas parseStream was measured buffering a whole 66 MB FLAC. For
 * bytes it does not understand music-metadata returns an empty result rather than throwing:
 * callers check {@link hasAudioFormat} and ffprobe's streams before trusting it.
 */
export async function readAudioMetadata(filePath: string): Promise<AudioMetadata> {
  let parsed: IAudioMetadata;
  try {
    parsed = await parseFile(filePath, { duration: false });
  } catch (error) {
    throw processingError(
      "audio-metadata-unreadable",
      `cannot read audio metadata: ${error instanceof Error ? error.message : String(error)}`,
      error,
    );
  }
  return { info: toAudioInfo(parsed), cover: pickCover(parsed.common.picture) };
}

export function toAudioInfo(parsed: IAudioMetadata): AudioInfo {
  const { format, common } = parsed;
  const tags: AudioTags = {};
  if (common.title) tags.title = common.title;
  if (common.artist) tags.artist = common.artist;
  if (common.album) tags.album = common.album;
  if (common.year) tags.year = common.year;
  if (common.track?.no) tags.track = common.track.no;
  if (common.track?.of) tags.trackTotal = common.track.of;
  if (common.genre && common.genre.length > 0) tags.genre = common.genre;
  return {
    durationSec: finitePositive(format.duration),
    codec: format.codec,
    container: format.container,
    bitrateKbps:
      format.bitrate !== undefined && Number.isFinite(format.bitrate) ? Math.round(format.bitrate / 1000) : undefined,
    sampleRate: finitePositive(format.sampleRate),
    channels: finitePositive(format.numberOfChannels),
    lossless: format.lossless === true,
    tags,
  };
}

/** False for the empty result music-metadata gives for bytes that are not audio it knows. */
export const hasAudioFormat = (info: AudioInfo): boolean => info.codec !== undefined || info.sampleRate !== undefined;

const finitePositive = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;

function pickCover(pictures: IPicture[] | undefined): IPicture | undefined {
  if (!pictures || pictures.length === 0) return undefined;
  return pictures.find((picture) => /front/i.test(picture.type ?? "")) ?? pictures[0];
}
