/**
 * Parses ffmpeg's `-progress` output: blocks of `key=value` lines, each block closed by
 * `progress=continue` or `progress=end`. See https://ffmpeg.org/ffmpeg.html#Advanced-options.
 */
export interface FfmpegProgress {
  /** Position reached in the output, in seconds (ffmpeg's out_time_us). */
  outTimeSec: number;
  /** Encoding speed relative to realtime (ffmpeg's `speed=1.5x`); undefined while ffmpeg reports N/A. */
  speed: number | undefined;
  /** Frames written so far, summed over outputs when ffmpeg reports them that way. */
  frame: number | undefined;
  /** 0–100 when the input duration is known, otherwise undefined. */
  percent: number | undefined;
  /** True on the last block (`progress=end`). */
  done: boolean;
}

/** Stateful line splitter; feed it stdout chunks, it returns the blocks they completed. */
export class FfmpegProgressParser {
  private pending = "";
  private fields = new Map<string, string>();
  private readonly durationSec: number | undefined;

  /** `durationSec` is the expected output duration; percentages are computed against it. */
  constructor(durationSec?: number) {
    this.durationSec =
      durationSec !== undefined && Number.isFinite(durationSec) && durationSec > 0 ? durationSec : undefined;
  }

  push(chunk: string): FfmpegProgress[] {
    this.pending += chunk;
    const lines = this.pending.split("\n");
    this.pending = lines.pop() ?? "";
    const blocks: FfmpegProgress[] = [];
    for (const rawLine of lines) {
      const line = rawLine.trim();
      const equals = line.indexOf("=");
      if (equals <= 0) continue;
      const key = line.slice(0, equals);
      const value = line.slice(equals + 1);
      if (key !== "progress") {
        this.fields.set(key, value);
        continue;
      }
      blocks.push(this.toProgress(value === "end"));
      this.fields.clear();
    }
    return blocks;
  }

  private toProgress(done: boolean): FfmpegProgress {
    // out_time_ms is, despite its name, also microseconds (a long-standing ffmpeg quirk).
    const micros = Number(this.fields.get("out_time_us") ?? this.fields.get("out_time_ms"));
    const outTimeSec = Number.isFinite(micros) && micros > 0 ? micros / 1_000_000 : 0;
    const speedMatch = /^([\d.]+)x$/.exec(this.fields.get("speed")?.trim() ?? "");
    const frame = Number(this.fields.get("frame"));
    let percent: number | undefined;
    if (this.durationSec !== undefined)
      percent = done ? 100 : Math.min(100, Math.max(0, (outTimeSec / this.durationSec) * 100));
    return {
      outTimeSec,
      speed: speedMatch ? Number(speedMatch[1]) : undefined,
      frame: Number.isFinite(frame) ? frame : undefined,
      percent,
      done,
    };
  }
}
