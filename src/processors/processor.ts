import type { AppConfig } from "../config/config.ts";
import type { Logger } from "../logger.ts";
import type { DetectedMedia } from "../media/detected-media.ts";
import type { ChunkPlan } from "./video/chunk-plan.ts";

/**
 * The contract between the pipeline and a media processor. A processor never touches SQS or
 * Redis: it reads `inputPath`, writes outputs through `output`, reports through `progress`,
 * and stops when `signal` fires. It throws MediaErrors (src/errors.ts) for anything that fails.
 */
export interface Processor {
  readonly name: string;
  accepts(media: DetectedMedia): boolean;
  process(ctx: ProcessContext): Promise<ProcessResult>;
  /** Releases what the processor keeps between jobs (child processes, pools); called once at shutdown. */
  close?(): Promise<void>;
}

export interface OutputFile {
  /** Full object key it was stored under. */
  key: string;
  /** e.g. `thumb_small`, `webp`, `hls_master`. */
  variant: string;
  contentType: string;
  bytes: number;
  width?: number;
  height?: number;
  durationSec?: number;
  /** Its score against the source at the output size, with QUALITY_SCORES (src/processors/quality). */
  quality?: OutputQuality;
  /** Its absolute URL under CDN_BASE_URL, when that is set. */
  url?: string;
}

/**
 * A perceptual score of one output against its source, compared at the output's size.
 * SSIMULACRA2: 90 ≈ visually lossless, 70 ≈ high quality, 50 ≈ medium. SSIM: 1 = identical;
 * PSNR in dB. A scoring failure is recorded in `error` and never fails the job.
 */
export interface OutputQuality {
  metric: "ssimulacra2" | "ssim";
  ssimulacra2?: number;
  ssim?: number;
  /** Video: the worst frame's SSIM. */
  ssimMin?: number;
  psnrDb?: number;
  frames?: number;
  /** Size the comparison ran at; a centre crop of large images (`cropped`). */
  comparedWidth?: number;
  comparedHeight?: number;
  cropped?: boolean;
  error?: string;
}

export interface OutputRequest {
  /**
   * A flat `<variant>.<ext>` (`thumb_small.webp` → `<file>.<run>_thumb_small.webp`) or a nested
   * path (`hls/master.m3u8` → `<file>.<run>/hls/master.m3u8`); at most 64 bytes, and never
   * `manifest.json` (the pipeline writes that).
   */
  name: string;
  variant: string;
  body: { file: string } | { buffer: Buffer | string };
  contentType: string;
  /** Defaults to one year immutable: every run writes keys no other run writes (src/storage/output-keys.ts). */
  cacheControl?: string;
  width?: number;
  height?: number;
  durationSec?: number;
}

export interface ProcessContext {
  jobId: string;
  /** Absolute path of the downloaded upload inside the job's temp dir. */
  inputPath: string;
  /** The job's private temp dir; removed after the job whatever happens. */
  workDir: string;
  /** The original object key (for naming only; never used to build a path). */
  sourceKey: string;
  media: DetectedMedia;
  /** Stores an output now and returns its description for the result. */
  output(request: OutputRequest): Promise<OutputFile>;
  /** 0–100 within the processing phase; `step` names what runs (e.g. "encode"). */
  progress(percent: number, step?: string): void;
  /** Appends a named step to the job timeline. */
  step(event: string, detail?: Record<string, unknown>): void;
  signal: AbortSignal;
  config: AppConfig;
  logger: Logger;
  /**
   * Set by the pipeline when VIDEO_CHUNK_SECONDS is on: hands a planned video over to chunk
   * tasks (src/pipeline/chunked), which any worker runs. The processor decides; the pipeline
   * stores the plan and sends the tasks. Once it resolves, the job is no longer this run's.
   */
  handOffChunks?: (plan: ChunkPlan) => Promise<void>;
}

export interface ProcessResult {
  outputs: OutputFile[];
  metadata: Record<string, unknown>;
  /** The job went to chunk tasks (handOffChunks): nothing was encoded here and no manifest is due. */
  handedOff?: { chunks: number };
}

/** What a plug-in module may export (default or named `processor`): a processor or a factory. */
export type ProcessorModuleExport = Processor | ((config: AppConfig) => Processor | Promise<Processor>);
