import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import type { TestStack } from "../helpers/stack.ts";
import { runPrefixesOf } from "../helpers/outputs.ts";

const run = promisify(execFile);

/** Small, quick settings: 2 s segments, 4 s chunks, two rungs of a 320x180 clip. */
// The rungs get enough bits for testsrc2's noise-like detail that chunk-vs-one-pass SSIM measures the
// joins, not x264's ABR warm-up: each chunk's rate control starts cold, which at 200k on 144p costs
// ~0.004 SSIM against the source in the first second of every chunk (one pass pays it once).
export const CHUNK_ENV = {
  VIDEO_CHUNK_SECONDS: "4",
  VIDEO_HLS_SEGMENT_SECONDS: "2",
  VIDEO_HLS_RUNGS: "144:400k:64k,180:600k:96k",
  VIDEO_HLS_IFRAME_PLAYLISTS: "false",
};

/** Downloads the run's HLS tree into `dir` and returns the local master path. */
export async function downloadTree(stack: TestStack, job: JobRecord, dir: string): Promise<string> {
  const prefix = runPrefixesOf(job)[1].slice(0, -1);
  for (const key of await stack.listKeys(`${prefix}/hls/`)) {
    const target = path.join(dir, key.slice(prefix.length + 1));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, await stack.getObject(key));
  }
  return path.join(dir, "hls", "master.m3u8");
}

/** Frames and duration of the first video (or audio) stream of a playlist, as ffprobe counts them. */
export async function countFrames(file: string, stream = "v:0"): Promise<{ frames: number; durationSec: number }> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-count_packets",
    "-select_streams",
    stream,
    "-show_entries",
    "stream=nb_read_packets:format=duration",
    "-of",
    "json",
    file,
  ]);
  const parsed = JSON.parse(stdout) as { streams: Array<{ nb_read_packets: string }>; format: { duration: string } };
  return { frames: Number(parsed.streams[0]?.nb_read_packets), durationSec: Number(parsed.format.duration) };
}

/** ffmpeg's mean SSIM (All) of two videos, frame by frame from their first frames. */
export async function ssimOf(a: string, b: string): Promise<number> {
  const { stderr } = await run("ffmpeg", [
    "-nostdin",
    "-i",
    a,
    "-i",
    b,
    "-lavfi",
    "[0:v]setpts=PTS-STARTPTS[a];[1:v]setpts=PTS-STARTPTS[b];[a][b]ssim",
    "-f",
    "null",
    "-",
  ]);
  const match = /SSIM .* All:([0-9.]+)/.exec(stderr);
  assert.ok(match, `no SSIM in ffmpeg's output: ${stderr.slice(-400)}`);
  return Number(match[1]);
}

/** Scales `source` to `width`x`height` losslessly (FFV1), the reference both encodes are measured against. */
export async function losslessScaled(source: string, width: number, height: number, out: string): Promise<string> {
  await run("ffmpeg", [
    "-nostdin",
    "-y",
    "-v",
    "error",
    "-i",
    source,
    "-an",
    "-vf",
    `scale=${width}:${height}`,
    "-c:v",
    "ffv1",
    out,
  ]);
  return out;
}

/** Decodes a playlist with `-v error` and returns what it printed (empty: clean). */
export async function decodeErrors(file: string): Promise<string> {
  const { stderr } = await run("ffmpeg", ["-nostdin", "-v", "error", "-i", file, "-f", "null", "-"]);
  return stderr.trim();
}

export function entries(job: JobRecord, event: string): Array<Record<string, unknown>> {
  return job.timeline.filter((entry) => entry.event === event).map((entry) => entry.detail ?? {});
}

/** start_time of each stream type in one TS segment (ffprobe). */
export async function startTimes(file: string): Promise<{ video?: number; audio?: number }> {
  const { stdout } = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_type,start_time",
    "-of",
    "json",
    file,
  ]);
  const streams = (JSON.parse(stdout) as { streams: Array<{ codec_type: string; start_time: string }> }).streams;
  const of = (type: string) => streams.find((stream) => stream.codec_type === type)?.start_time;
  const video = of("video");
  const audio = of("audio");
  return { ...(video ? { video: Number(video) } : {}), ...(audio ? { audio: Number(audio) } : {}) };
}
