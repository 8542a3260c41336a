import { readFile, rename, writeFile } from "node:fs/promises";
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
  /** 10-bit 4:2:0 H.264 (High 10), SDR BT.709, as some cameras and screen recorders write. */
  tenBit?: boolean;
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
    "-f",
    "lavfi",
    "-i",
    videoSource,
    ...(audio ? ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000,aformat=channel_layouts=stereo`] : []),
    ...(options.frames !== undefined ? ["-frames:v", String(options.frames)] : []),
    "-t",
    String(options.durationSec),
    ...(webm
      ? ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"]
      : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", options.tenBit ? "yuv420p10le" : "yuv420p"]),
    ...(audio ? (webm ? ["-c:a", "libopus"] : ["-c:a", "aac", "-b:a", "96k"]) : []),
    "-y",
    options.out,
  ];
  await runFfmpeg({ args, trustedInputs: true });
  if (options.rotateDeg) await addRotateTag(options.out, options.rotateDeg);
  return options.out;
}

/**
 * A variable-frame-rate clip as phones write them (Pixel motion photos, screen recordings):
 * frames on a 1/120 s grid, alternately 3 and 5 ticks apart, so the stream's base rate
 * (r_frame_rate) is 120 while the frames average 30 per second. With `burstFrames`, the clip
 * starts with that many frames at the full 120 fps (a fast scroll in a screen recording).
 */
export async function generateVfrClip(options: {
  width: number;
  height: number;
  frames: number;
  burstFrames?: number;
  audio?: boolean;
  out: string;
}): Promise<string> {
  const burst = options.burstFrames ?? 0;
  const pattern = `eq(mod(n-${burst}\\,8)\\,0)+eq(mod(n-${burst}\\,8)\\,3)`;
  const select = burst > 0 ? `lt(n\\,${burst})+gte(n\\,${burst})*(${pattern})` : pattern;
  const args = [
    "-f",
    "lavfi",
    "-i",
    `testsrc2=s=${options.width}x${options.height}:r=120,select='${select}'`,
    ...(options.audio
      ? ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000,aformat=channel_layouts=stereo"]
      : []),
    "-frames:v",
    String(options.frames),
    "-fps_mode:v",
    "passthrough",
    ...(options.audio ? ["-c:a", "aac", "-b:a", "96k", "-shortest"] : []),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-y",
    options.out,
  ];
  await runFfmpeg({ args, trustedInputs: true });
  return options.out;
}

/**
 * A fragmented MP4 as live and streaming writers leave it: `empty_moov` fragments, with the
 * movie, track and media header durations set to all ones, ISO-BMFF's "duration unknown"
 * (ffprobe reads the mdhd value as 279620 s). 30 fps, 30000-unit movie timescale.
 */
export async function generateUnknownDurationFragmentedMp4(options: {
  durationSec: number;
  out: string;
}): Promise<string> {
  await runFfmpeg({
    args: [
      "-f",
      "lavfi",
      "-i",
      `testsrc2=s=320x240:r=30:d=${options.durationSec}`,
      "-f",
      "lavfi",
      "-i",
      `sine=d=${options.durationSec}`,
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-pix_fmt",
      "yuv420p",
      "-c:a",
      "aac",
      "-movflags",
      "frag_keyframe+empty_moov+default_base_moof",
      "-movie_timescale",
      "30000",
      "-f",
      "mp4",
      "-y",
      options.out,
    ],
    trustedInputs: true,
  });
  const bytes = await readFile(options.out);
  // Version-0 boxes: the duration field's offset from the box type.
  for (const [box, offset] of [
    ["mvhd", 20],
    ["tkhd", 24],
    ["mdhd", 20],
  ] as const) {
    for (let at = bytes.indexOf(box, 0, "latin1"); at >= 0; at = bytes.indexOf(box, at + 4, "latin1")) {
      if (bytes[at + 4] === 0) bytes.writeUInt32BE(0xffffffff, at + offset);
    }
  }
  await writeFile(options.out, bytes);
  return options.out;
}

/**
 * HDR test clips as phones write them: HEVC Main 10 (libx265), BT.2020 primaries and matrix,
 * PQ (HDR10) or HLG transfer, tagged in the bitstream and the container.
 * - `pattern`: testsrc2 converted properly from SDR BT.709 into HDR with SDR white at 203 nits
 *   (ITU-R BT.2408's HDR reference white), so a right tone map gives back roughly the original
 *   colours while a pass-through looks washed out (PQ) or pale (HLG).
 * - `flatLuma10`: every pixel this 10-bit limited-range luma code, neutral chroma. 509 is PQ's
 *   code for 100 nits (E′ = 0.508; 64 + 0.508 × 876).
 */
export interface HdrClipOptions {
  transfer: "pq" | "hlg";
  width: number;
  height: number;
  durationSec: number;
  fps?: number;
  content: "pattern" | { flatLuma10: number };
  /** 4:4:4 chroma, which lets the sides be odd (HEVC 4:2:0 cannot). */
  chroma444?: boolean;
  rotateDeg?: 90 | 180 | 270;
  out: string;
}

export const HDR_REFERENCE_WHITE_NITS = 203;

export async function generateHdrClip(options: HdrClipOptions): Promise<string> {
  const fps = options.fps ?? 10;
  const size = `${options.width}x${options.height}`;
  const transfer = options.transfer === "pq" ? "smpte2084" : "arib-std-b67";
  const pixelFormat = options.chroma444 ? "yuv444p10le" : "yuv420p10le";
  const nits = HDR_REFERENCE_WHITE_NITS;
  const video =
    options.content === "pattern"
      ? `testsrc2=s=${size}:r=${fps},format=${options.chroma444 ? "yuv444p" : "yuv420p"},` +
        `zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=linear:p=bt709:npl=${nits},format=gbrpf32le,zscale=p=bt2020,` +
        `zscale=t=${transfer}:m=bt2020nc:r=tv:npl=${nits},format=${pixelFormat}`
      : `color=c=gray:s=${size}:r=${fps},format=${pixelFormat},geq=lum=${options.content.flatLuma10}:cb=512:cr=512`;
  const args = [
    "-f",
    "lavfi",
    "-i",
    video,
    "-t",
    String(options.durationSec),
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-x265-params",
    "log-level=error",
    "-pix_fmt",
    pixelFormat,
    "-color_primaries",
    "bt2020",
    "-color_trc",
    transfer,
    "-colorspace",
    "bt2020nc",
    "-color_range",
    "tv",
    "-tag:v",
    "hvc1",
    "-y",
    options.out,
  ];
  await runFfmpeg({ args, trustedInputs: true });
  if (options.rotateDeg) await addRotateTag(options.out, options.rotateDeg);
  return options.out;
}

/** Rewrites `file` with a `rotate` tag; ffmpeg 5.1 only writes the display matrix for it when stream-copying. */
async function addRotateTag(file: string, rotateDeg: 90 | 180 | 270): Promise<void> {
  const rotatedOut = file.replace(/(\.\w+)$/, ".rotated$1");
  await runFfmpeg({
    args: ["-i", file, "-c", "copy", "-metadata:s:v:0", `rotate=${rotateDeg}`, "-y", rotatedOut],
    trustedInputs: true,
  });
  await rename(rotatedOut, file);
}
