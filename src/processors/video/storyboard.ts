import { stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { processingError } from "../../errors.ts";
import { runFfmpeg } from "../../media/ffmpeg.runner.ts";
import { safeInputArgs, VIDEO_DEMUXERS } from "../../media/safe-input.ts";
import { toEven } from "./ladder-plan.ts";
import { toneMapFilters, type ToneMapSource } from "./tone-map.ts";

/**
 * Scrubbing previews: one sprite JPEG of small frames taken at a fixed interval, and a WebVTT
 * file whose cues point at each tile with a `#xywh=` media fragment (the convention video.js,
 * Plyr, JW Player and others read).
 */
export interface StoryboardPlan {
  intervalSec: number;
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** At most this many tiles, so the sprite stays one reasonably small image. */
export const MAX_STORYBOARD_TILES = 100;
export const STORYBOARD_TILE_WIDTH = 160;

export function planStoryboard(durationSec: number, displayWidth: number, displayHeight: number): StoryboardPlan {
  const intervalSec = Math.max(1, Math.ceil(durationSec / MAX_STORYBOARD_TILES));
  const count = Math.max(1, Math.min(MAX_STORYBOARD_TILES, Math.ceil(durationSec / intervalSec)));
  const columns = Math.min(10, count);
  return {
    intervalSec,
    count,
    columns,
    rows: Math.ceil(count / columns),
    tileWidth: STORYBOARD_TILE_WIDTH,
    tileHeight: toEven((STORYBOARD_TILE_WIDTH * displayHeight) / displayWidth),
  };
}

/** The sprite command (pure). An HDR source is tone-mapped after the scale, at tile size, where it costs next to nothing. */
export function storyboardArgs(input: {
  inputPath: string;
  demuxer: string | undefined;
  videoStreamIndex: number;
  plan: StoryboardPlan;
  outFile: string;
  toneMap?: ToneMapSource | undefined;
}): string[] {
  const { plan } = input;
  const toneMap = input.toneMap ? `${toneMapFilters(input.toneMap)},` : "";
  return [
    ...safeInputArgs(input.inputPath, { demuxers: VIDEO_DEMUXERS, format: input.demuxer }),
    "-map",
    `0:${input.videoStreamIndex}`,
    "-vf",
    `fps=1/${plan.intervalSec},scale=w=${plan.tileWidth}:h=${plan.tileHeight},setsar=1,${toneMap}tile=${plan.columns}x${plan.rows}`,
    "-frames:v",
    "1",
    "-update",
    "1",
    "-map_metadata",
    "-1",
    "-q:v",
    "5",
    "-f",
    "image2",
    "-c:v",
    "mjpeg",
    "-y",
    input.outFile,
  ];
}

/** The WebVTT cues (pure); `spriteUri` is relative to the VTT file. */
export function storyboardVtt(plan: StoryboardPlan, durationSec: number, spriteUri: string): string {
  const cues = ["WEBVTT", ""];
  for (let index = 0; index < plan.count; index += 1) {
    const start = index * plan.intervalSec;
    const end = Math.min(durationSec, start + plan.intervalSec);
    if (end <= start) break;
    const x = (index % plan.columns) * plan.tileWidth;
    const y = Math.floor(index / plan.columns) * plan.tileHeight;
    cues.push(
      `${vttTime(start)} --> ${vttTime(end)}`,
      `${spriteUri}#xywh=${x},${y},${plan.tileWidth},${plan.tileHeight}`,
      "",
    );
  }
  return cues.join("\n");
}

function vttTime(seconds: number): string {
  const millis = Math.round(seconds * 1000);
  const hours = Math.floor(millis / 3_600_000);
  const minutes = Math.floor((millis % 3_600_000) / 60_000);
  const secs = Math.floor((millis % 60_000) / 1000);
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${pad(hours)}:${pad(minutes)}:${pad(secs)}.${pad(millis % 1000, 3)}`;
}

export const STORYBOARD_SPRITE_NAME = "sprite.jpg";

export async function makeStoryboard(request: {
  inputPath: string;
  demuxer: string | undefined;
  videoStreamIndex: number;
  durationSec: number;
  displayWidth: number;
  displayHeight: number;
  workDir: string;
  toneMap?: ToneMapSource | undefined;
  signal: AbortSignal;
  /** Only for a caller without a job deadline: in a job the job's signal carries PROCESSING_TIMEOUT. */
  timeoutMs?: number | undefined;
}): Promise<{ sprite: string; vtt: string; plan: StoryboardPlan }> {
  const plan = planStoryboard(request.durationSec, request.displayWidth, request.displayHeight);
  const sprite = path.join(request.workDir, STORYBOARD_SPRITE_NAME);
  const vtt = path.join(request.workDir, "storyboard.vtt");
  await runFfmpeg({
    args: storyboardArgs({ ...request, plan, outFile: sprite }),
    signal: request.signal,
    timeoutMs: request.timeoutMs,
  });
  const written = await stat(sprite).catch(() => undefined);
  if (!written || written.size === 0) throw processingError("storyboard-failed", "ffmpeg wrote no storyboard sprite");
  await writeFile(vtt, storyboardVtt(plan, request.durationSec, STORYBOARD_SPRITE_NAME));
  return { sprite, vtt, plan };
}
