import { runFfmpeg, safeInputArgs, AUDIO_DEMUXERS } from "../../media/ffmpeg.runner.ts";
import { pcmDecodeOutputArgs, type PcmFormat } from "./transcode-plan.ts";
import { WaveformAccumulator, type WaveformData } from "./waveform-data.ts";

export interface WaveformDecodeOptions {
  inputPath: string;
  /** The whitelisted demuxer the probe settled on. */
  demuxer: string;
  pcm: PcmFormat;
  samplesPerPixel: number;
  splitChannels: boolean;
  maxDurationSec: number;
  signal: AbortSignal;
  /** Frames decoded so far; called once per stdout chunk. */
  onFrames?: (frames: number) => void;
}

/**
 * Decodes the audio to PCM with ffmpeg and folds it into waveform data as it arrives on stdout:
 * the audio itself is never held, only one pipe chunk at a time (see WaveformAccumulator).
 * Also returns the number of frames actually decoded, which is the real duration of the audio
 * whatever its header claims.
 */
export async function decodeWaveform(options: WaveformDecodeOptions): Promise<{ data: WaveformData; frames: number }> {
  const accumulator = new WaveformAccumulator({
    inputChannels: options.pcm.channels,
    sampleRate: options.pcm.sampleRate,
    samplesPerPixel: options.samplesPerPixel,
    splitChannels: options.splitChannels,
  });
  await runFfmpeg({
    args: [
      ...safeInputArgs(options.inputPath, { demuxers: AUDIO_DEMUXERS, format: options.demuxer }),
      ...pcmDecodeOutputArgs(options.pcm, options.maxDurationSec),
    ],
    signal: options.signal,
    onStdoutData: (chunk) => {
      accumulator.push(chunk);
      options.onFrames?.(accumulator.framesSeen);
    },
  });
  return { data: accumulator.finish(), frames: accumulator.framesSeen };
}
