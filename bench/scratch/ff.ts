import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { FFMPEG_GLOBAL_ARGS_STDOUT_DATA, runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { VIDEO_DEMUXERS } from "../../src/media/safe-input.ts";
import { hlsLadderArgs } from "../../src/processors/video/hls-command.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";
import { loadConfig } from "../../src/config/config.ts";
const file = "/tmp/media-processor-bench/clip-1080p30-6s.mp4";
const config = loadConfig({ MEDIA_BUCKET: "media-uploads", MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:1/q", REDIS_URL: "redis://127.0.0.1:1" }).video;
const probe = await probeMedia(file, { demuxers: VIDEO_DEMUXERS });
const video = probe.video!;
const rungs = planLadder({ width: video.displayWidth, height: video.displayHeight, bitRate: probe.format.bitRate }, config.rungs);
const source = { videoStreamIndex: video.index, audioStreamIndex: probe.audio?.index, fps: video.fps, durationSec: probe.durationSec };
const settings = { x264Preset: config.x264Preset, maxFps: config.maxFps, segmentSeconds: config.segmentSeconds, addSilentAudio: config.addSilentAudio, segmentFormat: config.segmentFormat };
const args = (out: string) => hlsLadderArgs({ inputPath: file, demuxer: probe.format.demuxer, source, rungs, settings, audioOnlyKbps: undefined, outDir: out });
const plain = (a: string[], extra: string[] = []) => new Promise<void>((res, rej) => { const c = spawn("ffmpeg", [...FFMPEG_GLOBAL_ARGS_STDOUT_DATA, ...extra, ...a], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH, MALLOC_ARENA_MAX: "2" } }); c.stdout.resume(); c.stderr.resume(); c.once("close", (code) => code === 0 ? res() : rej(new Error(String(code)))); });
for (let i = 0; i < 1; i++) {
  for (const [name, fn] of [["runner", (o: string) => runFfmpeg({ args: args(o), durationSec: 6, onProgress: () => {} })], ["plain", (o: string) => plain(args(o))], ["plain+progress", (o: string) => plain(args(o), ["-progress", "pipe:1"])]] as const) {
    const out = `/tmp/benchx/ff-${name}-${i}`; await mkdir(out, { recursive: true });
    const t = performance.now(); await fn(out); console.log(name, ((performance.now() - t) / 1000).toFixed(2)); if (name !== "plain") await rm(out, { recursive: true });
  }
}
