import { rename } from "node:fs/promises";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";

/**
 * Test clips made on the fly from ffmpeg's lavfi sources; nothing binary is committed.
 * `testsrc2` has a moving pattern and a frame counter, so every frame differs and
 * orientation is visible in a preview.
 */
export interface ClipOptions {
  width: number;
  height: number;
  durationSec: number;
  fps?: number;
  /** Adds a 440 Hz stereo sine track. Default true. */
  audio?: boolean;
  /**
   * Writes the legacy `rotate` tag, which ffmpeg 5.1 turns into a display matrix — like a phone
   * video. Note 5.1's mov muxer stores `rotate=90` as a counter-clockwise quarter turn, so
   * players (and ffmpeg's autorotate) turn the picture 90° counter-clockwise.
   */
  rotateDeg?: 90 | 180 | 270;
  /** Exactly this many video frames (overrides durationSec for the video track). */
  frames?: number;
  /** Starts with this many seconds of black (poster selection must skip them). */
  blackLeadInSec?: number;
  /** Container by extension of `out` (mp4, mov, mkv, webm…); libx264 + AAC unless webm. */
  out: string;
}

export async function generateClip(options: ClipOptions): Promise<string> {
  const fps = options.fps ?? 10;
  const audio = options.audio ?? true;
  const size = `${options.width}x${options.height}`;
  const webm = options.out.endsWith(".webm");
  const videoSource = options.blackLeadInSec
    ? `color=c=black:s=${size}:r=${fps}:d=${options.blackLeadInSec}[black];testsrc2=s=${size}:r=${fps}[pattern];[black][pattern]concat=n=2:v=1:a=0`
    : `testsrc2=s=${size}:r=${fps}`;
  const args = [
    "-f", "lavfi", "-i", videoSource,
    ...(audio ? ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000,aformat=channel_layouts=stereo`] : []),
    ...(options.frames !== undefined ? ["-frames:v", String(options.frames)] : []),
    "-t", String(options.durationSec),
    ...(webm ? ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"] : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
    ...(audio ? (webm ? ["-c:a", "libopus"] : ["-c:a", "aac", "-b:a", "96k"]) : []),
    "-y", options.out,
  ];
  await runFfmpeg({ args, trustedInputs: true });
  if (options.rotateDeg) {
    // ffmpeg 5.1 only writes the display matrix for the rotate tag when stream-copying.
    const rotatedOut = options.out.replace(/(\.\w+)$/, ".rotated$1");
    await runFfmpeg({ args: ["-i", options.out, "-c", "copy", "-metadata:s:v:0", `rotate=${options.rotateDeg}`, "-y", rotatedOut], trustedInputs: true });
    await rename(rotatedOut, options.out);
  }
  return options.out;
}
