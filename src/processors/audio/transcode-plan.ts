/**
 * Decisions about audio transcodes, as pure functions returning plain data and ffmpeg argument
 * arrays (tested by their exact arrays; src/media runs them).
 *
 * Bitrate rules: a transcode never inflates. The configured bitrate is for stereo, mono gets half
 * and stays mono, and a lossy source caps the bitrate at its own (a 96 kbit/s MP3 is not
 * re-encoded at 192 kbit/s: it would only grow). A lossy source already in the target codec at
 * or under the target bitrate is copied into the new container rather than re-encoded, which
 * loses nothing and costs no CPU.
 */

export type AudioFormat = "mp3" | "aac" | "ogg";

/** What the plan needs to know about the source's first audio stream (ffprobe names). */
export interface SourceAudio {
  /** ffprobe codec_name: mp3, aac, opus, flac, pcm_s16le, … */
  codec: string | undefined;
  bitrateKbps: number | undefined;
  sampleRate: number | undefined;
  channels: number | undefined;
  lossless: boolean;
}

export interface TranscodeSettings {
  formats: AudioFormat[];
  mp3BitrateKbps: number;
  aacBitrateKbps: number;
  opusBitrateKbps: number;
  maxDurationSec: number;
}

export interface TranscodeTarget {
  format: AudioFormat;
  /** Output name and variant per DESIGN.md: `mp3.mp3` → `<base>_mp3.mp3`. */
  name: string;
  variant: AudioFormat;
  contentType: string;
  /** ffprobe codec_name the output must have. */
  codecName: "mp3" | "aac" | "opus";
  /** The ffmpeg encoder, or `copy` when the source stream is reused as it is. */
  encoder: "libmp3lame" | "aac" | "libopus" | "copy";
  muxer: "mp3" | "ipod" | "ogg";
  bitrateKbps: number;
  sampleRate: number;
  channels: 1 | 2;
}

const FORMAT_FACTS: Record<
  AudioFormat,
  Pick<TranscodeTarget, "name" | "contentType" | "codecName" | "muxer"> & { encoder: "libmp3lame" | "aac" | "libopus" }
> = {
  mp3: { name: "mp3.mp3", contentType: "audio/mpeg", codecName: "mp3", encoder: "libmp3lame", muxer: "mp3" },
  aac: { name: "aac.m4a", contentType: "audio/mp4", codecName: "aac", encoder: "aac", muxer: "ipod" },
  ogg: { name: "ogg.ogg", contentType: "audio/ogg", codecName: "opus", encoder: "libopus", muxer: "ogg" },
};

/** Rates every MP3 decoder and AAC profile handles; higher rates only cost bits on the web. */
const WEB_SAMPLE_RATES = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000];
/** MPEG-1 Layer III (32–48 kHz) bitrates; MPEG-2/2.5 (≤ 24 kHz) have their own, lower table. */
const MP3_BITRATES_MPEG1 = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MP3_BITRATES_MPEG2 = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
/** Opus is 48 kHz inside; decoders output 48 kHz whatever the source was. */
const OPUS_SAMPLE_RATE = 48000;
const MIN_BITRATE_KBPS: Record<AudioFormat, number> = { mp3: 8, aac: 16, ogg: 6 };

/** Keeps a standard rate; maps 88.2/176.4 kHz to 44.1 kHz, 96/192 kHz to 48 kHz, odd rates up. */
export function webSampleRate(sourceRate: number | undefined): number {
  if (sourceRate === undefined) return 44100;
  if (WEB_SAMPLE_RATES.includes(sourceRate)) return sourceRate;
  if (sourceRate > 48000) return sourceRate % 11025 === 0 ? 44100 : 48000;
  return WEB_SAMPLE_RATES.find((rate) => rate >= sourceRate) ?? 48000;
}

export function outputChannels(sourceChannels: number | undefined): 1 | 2 {
  return sourceChannels === 1 ? 1 : 2;
}

/** The configured (stereo) bitrate, halved for mono, capped by a lossy source's own bitrate. */
export function targetBitrateKbps(format: AudioFormat, configuredStereoKbps: number, source: SourceAudio): number {
  const channels = outputChannels(source.channels);
  const nominal = channels === 1 ? Math.floor(configuredStereoKbps / 2) : configuredStereoKbps;
  const capped = !source.lossless && source.bitrateKbps !== undefined ? Math.min(nominal, source.bitrateKbps) : nominal;
  return Math.max(MIN_BITRATE_KBPS[format], Math.floor(capped));
}

/** LAME only writes the bitrates of the MPEG version the sample rate implies; pick one not above the target. */
export function mp3Bitrate(targetKbps: number, sampleRate: number): number {
  const table = sampleRate >= 32000 ? MP3_BITRATES_MPEG1 : MP3_BITRATES_MPEG2;
  const fitting = table.filter((bitrate) => bitrate <= targetKbps);
  return fitting.length > 0 ? fitting[fitting.length - 1]! : table[0]!;
}

const configuredBitrate = (format: AudioFormat, settings: TranscodeSettings) =>
  format === "mp3" ? settings.mp3BitrateKbps : format === "aac" ? settings.aacBitrateKbps : settings.opusBitrateKbps;

export function planTranscode(format: AudioFormat, source: SourceAudio, settings: TranscodeSettings): TranscodeTarget {
  const facts = FORMAT_FACTS[format];
  const channels = outputChannels(source.channels);
  const sampleRate = format === "ogg" ? OPUS_SAMPLE_RATE : webSampleRate(source.sampleRate);
  const target = targetBitrateKbps(format, configuredBitrate(format, settings), source);
  const bitrateKbps = format === "mp3" ? mp3Bitrate(target, sampleRate) : target;
  const planned: TranscodeTarget = { format, variant: format, ...facts, bitrateKbps, sampleRate, channels };
  return canCopy(planned, source, configuredBitrate(format, settings))
    ? { ...planned, encoder: "copy", bitrateKbps: source.bitrateKbps!, sampleRate: source.sampleRate! }
    : planned;
}

/**
 * Copy when re-encoding could only lose quality: same codec, lossy, at most stereo, a known
 * bitrate not above the configured one, and a rate the target accepts as it is.
 */
function canCopy(target: TranscodeTarget, source: SourceAudio, configuredStereoKbps: number): boolean {
  if (source.lossless || source.codec !== target.codecName) return false;
  if (source.bitrateKbps === undefined || source.sampleRate === undefined || source.channels === undefined)
    return false;
  if (source.channels > 2) return false;
  const nominal = source.channels === 1 ? Math.floor(configuredStereoKbps / 2) : configuredStereoKbps;
  if (source.bitrateKbps > nominal) return false;
  return target.codecName === "opus" ? true : WEB_SAMPLE_RATES.includes(source.sampleRate);
}

export function planTranscodes(source: SourceAudio, settings: TranscodeSettings): TranscodeTarget[] {
  return settings.formats.map((format) => planTranscode(format, source, settings));
}

/** Keeps only the first audio stream: cover art (an attached picture stream), subtitles and data go. */
const AUDIO_ONLY_MAP = ["-map", "0:a:0", "-vn", "-sn", "-dn"];

/**
 * Output arguments of one transcode (what follows the runner's safe input arguments).
 * `-t` bounds the work even when a header lies about the duration.
 */
export function transcodeOutputArgs(target: TranscodeTarget, outputPath: string, maxDurationSec: number): string[] {
  const codec =
    target.encoder === "copy"
      ? ["-c:a", "copy"]
      : [
          "-c:a",
          target.encoder,
          "-b:a",
          `${target.bitrateKbps}k`,
          // libopus' default unconstrained VBR spends up to ~1.7x the target on tonal music
          // (108 kbit/s at 64k measured); constrained VBR keeps the no-inflation promise.
          ...(target.encoder === "libopus" ? ["-vbr", "constrained"] : []),
          "-ar",
          String(target.sampleRate),
          "-ac",
          String(target.channels),
        ];
  const muxer =
    target.muxer === "mp3"
      ? ["-id3v2_version", "3", "-f", "mp3"]
      : target.muxer === "ipod"
        ? // faststart moves the index to the front so playback starts before the download ends.
          ["-movflags", "+faststart", "-f", "ipod"]
        : ["-f", "ogg"];
  return [...AUDIO_ONLY_MAP, "-map_metadata", "0", ...codec, "-t", String(maxDurationSec), ...muxer, outputPath];
}

export interface PcmFormat {
  sampleRate: number;
  channels: number;
}

/**
 * Output arguments that decode the first audio stream to interleaved s16le PCM on stdout for the
 * waveform. Rate and channel count are forced to what the probe reported so that the byte stream
 * has exactly the layout the accumulator is told about.
 */
export function pcmDecodeOutputArgs(pcm: PcmFormat, maxDurationSec: number): string[] {
  return [
    ...AUDIO_ONLY_MAP,
    "-c:a",
    "pcm_s16le",
    "-ar",
    String(pcm.sampleRate),
    "-ac",
    String(pcm.channels),
    "-t",
    String(maxDurationSec),
    "-f",
    "s16le",
    "pipe:1",
  ];
}
