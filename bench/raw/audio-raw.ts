/**
 * The raw side of the audio benchmark, as its own process: for each file, the same transcodes
 * (the processor's argument builders, so the same encoders, bitrates and rates) run as parallel
 * ffmpeg processes, and a fourth ffmpeg decodes PCM whose min/max pairs are folded into the
 * waveform and written as JSON, DAT and PNG — spawned plainly, no probing of the outputs, no
 * tags or cover art, no temp-dir bookkeeping, no upload, no Redis.
 *
 *   node bench/raw/audio-raw.ts <request.json>   → prints one JSON line (RawRunResult)
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { FFMPEG_GLOBAL_ARGS_STDOUT_DATA, safeInputArgs, AUDIO_DEMUXERS } from "../../src/media/ffmpeg.runner.ts";
import {
  pcmDecodeOutputArgs,
  transcodeOutputArgs,
  type PcmFormat,
  type TranscodeTarget,
} from "../../src/processors/audio/transcode-plan.ts";
import { WaveformAccumulator } from "../../src/processors/audio/waveform-data.ts";
import { encodeWaveformDat, encodeWaveformJson } from "../../src/processors/audio/waveform-formats.ts";
import { autoAmplitudeScale, renderWaveformPng } from "../../src/processors/audio/waveform-image.ts";
import type { AppConfig } from "../../src/config/config.ts";
import { cpuSecondsNow, peakRssMiB, runPool, type RawRunResult } from "./raw-common.ts";

export interface AudioRawJob {
  file: string;
  demuxer: string;
  targets: TranscodeTarget[];
  pcm: PcmFormat;
  samplesPerPixel: number;
}

export interface AudioRawRequest {
  jobs: AudioRawJob[];
  outDir: string;
  concurrency: number;
  audio: AppConfig["audio"];
}

function ffmpeg(args: string[], onStdout?: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", [...FFMPEG_GLOBAL_ARGS_STDOUT_DATA, ...args], {
      stdio: ["ignore", onStdout ? "pipe" : "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    if (onStdout) child.stdout!.on("data", onStdout);
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr}`)),
    );
  });
}

async function convert(job: AudioRawJob, outBase: string, audio: AppConfig["audio"]): Promise<void> {
  const input = safeInputArgs(job.file, { demuxers: AUDIO_DEMUXERS, format: job.demuxer });
  const accumulator = new WaveformAccumulator({
    inputChannels: job.pcm.channels,
    sampleRate: job.pcm.sampleRate,
    samplesPerPixel: job.samplesPerPixel,
    splitChannels: audio.waveform.splitChannels,
  });
  await Promise.all([
    ffmpeg([...input, ...pcmDecodeOutputArgs(job.pcm, audio.maxDurationSec)], (chunk) => accumulator.push(chunk)),
    ...job.targets.map((target) =>
      ffmpeg([...input, ...transcodeOutputArgs(target, `${outBase}_${target.name}`, audio.maxDurationSec)]),
    ),
  ]);
  const data = accumulator.finish();
  const { waveform } = audio;
  await Promise.all([
    writeFile(`${outBase}_waveform.json`, encodeWaveformJson(data, waveform.bits)),
    writeFile(`${outBase}_waveform.dat`, encodeWaveformDat(data, waveform.bits)),
    renderWaveformPng(data, {
      width: waveform.imageWidth,
      height: waveform.imageHeight,
      color: waveform.color,
      backgroundColor: waveform.backgroundColor,
      // The processor scales the picture to the recording's peak (audiowaveform's auto scale).
      amplitudeScale: autoAmplitudeScale(data),
    }).then((png) => writeFile(`${outBase}_waveform.png`, png)),
  ]);
}

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as AudioRawRequest;
await mkdir(request.outDir, { recursive: true });
const cpuBefore = await cpuSecondsNow();
const started = performance.now();
await runPool(request.jobs, request.concurrency, (job, index) =>
  convert(job, path.join(request.outDir, `${index}-${path.parse(job.file).name}`), request.audio),
);
const wallMs = performance.now() - started;
const result: RawRunResult = {
  wallMs,
  items: request.jobs.length,
  peakRssMiB: await peakRssMiB(),
  cpuSec: (await cpuSecondsNow()) - cpuBefore,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
