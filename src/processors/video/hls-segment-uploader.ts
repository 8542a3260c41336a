import { readdir } from "node:fs/promises";
import path from "node:path";
import { toMediaError, type MediaError } from "../../errors.ts";
import { throwIfAbortedWithReason } from "../../media/tool-process.ts";
import type { OutputFile, OutputRequest } from "../processor.ts";
import { hlsFileRequest, hlsFileKind } from "./hls-uploads.ts";

/**
 * Uploads the HLS tree while ffmpeg is still writing it. ffmpeg writes each segment as
 * `<name>.tmp` and renames it when the segment is closed (`-hls_flags temp_file`,
 * hls-command.ts), so a segment under its final name never changes again. The uploader looks at
 * the folder every `pollMs`, and uploads each closed segment and init file with at most
 * `parallel` uploads in flight. Playlists are never uploaded here: the caller uploads them once
 * every segment they name is stored ({@link HlsSegmentUploader.finish}), so a player (or a
 * crash) never finds a playlist naming a segment that is not there.
 */

/**
 * The files of a listing that are complete and may be uploaded (pure). `listing` holds paths
 * relative to the HLS folder (`720p/segment_00003.ts`). A media segment is complete under its
 * final name. An fMP4 init file is created empty when ffmpeg starts and written just before the
 * rendition's first segment is renamed into place, so it counts as complete once a segment of
 * its folder exists, or once ffmpeg has exited. Playlists and `.tmp` files are never listed.
 */
export function closedHlsFiles(listing: readonly string[], ffmpegExited: boolean): string[] {
  const media = listing.filter((relative) => !relative.endsWith(".tmp") && hlsFileRequestKind(relative) !== undefined);
  const foldersWithSegments = new Set(
    media.filter((relative) => hlsFileKind(relative) === "hls_segment").map((relative) => path.posix.dirname(relative)),
  );
  return media
    .filter(
      (relative) =>
        hlsFileKind(relative) === "hls_segment" ||
        ffmpegExited ||
        foldersWithSegments.has(path.posix.dirname(relative)),
    )
    .sort();
}

/** `hls_segment` / `hls_init` for media files the tree holds, undefined for playlists and anything else. */
function hlsFileRequestKind(relative: string): "hls_segment" | "hls_init" | undefined {
  const extension = path.posix.extname(relative);
  if (extension === ".ts" || extension === ".m4s") return "hls_segment";
  if (extension === ".mp4") return "hls_init";
  return undefined;
}

export interface SegmentUploaderOptions {
  hlsDir: string;
  upload: (request: OutputRequest) => Promise<OutputFile>;
  parallel: number;
  signal: AbortSignal;
  /** How often the folder is looked at while ffmpeg runs. */
  pollMs?: number;
  /** Called once, on the first failed upload (the caller stops the encode with it). */
  onError?: (error: MediaError) => void;
}

export class HlsSegmentUploader {
  readonly #options: SegmentUploaderOptions;
  /** Names (`hls/720p/segment_00000.ts`) queued or stored, so no file goes up twice. */
  readonly #seen = new Set<string>();
  readonly #queue: OutputRequest[] = [];
  readonly #stored: OutputFile[] = [];
  readonly #running = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #error: MediaError | undefined;
  #stopped = false;
  #firstStartedAt: number | undefined;
  #storedBeforeExit: number | undefined;
  #finalScan: Promise<void> | undefined;

  constructor(options: SegmentUploaderOptions) {
    this.#options = options;
  }

  /** Starts looking at the folder. */
  start(): void {
    const interval = this.#options.pollMs ?? 250;
    this.#timer = setInterval(() => void this.#scan(false), interval);
    this.#timer.unref();
  }

  /** Epoch ms the first upload started (undefined before any). */
  get firstStartedAt(): number | undefined {
    return this.#firstStartedAt;
  }

  /** Files stored while ffmpeg was still running (counted at {@link encodeEnded}). */
  get storedBeforeExit(): number {
    return this.#storedBeforeExit ?? this.#stored.length;
  }

  /** Whether the file (`hls/720p/segment_00000.ts`) went through this uploader. */
  has(name: string): boolean {
    return this.#seen.has(name);
  }

  /** Queues a file that is complete now (a poster written beside the encode), under the same bound. */
  add(request: OutputRequest): void {
    if (this.#seen.has(request.name)) return;
    this.#seen.add(request.name);
    this.#queue.push(request);
    this.#pump();
  }

  /**
   * ffmpeg has exited successfully: the folder is looked at once more at once (the last
   * segments, and init files with no segment, are complete now) and no more after.
   */
  encodeEnded(): void {
    if (this.#storedBeforeExit !== undefined) return;
    this.#stopTimer();
    this.#storedBeforeExit = this.#stored.length;
    this.#finalScan = (this.#scanning ?? Promise.resolve()).then(() => this.#scan(true));
  }

  /**
   * Awaits every queued upload (after {@link encodeEnded}). Resolves with what was stored, in
   * key order; rejects with the first failed upload's error.
   */
  async finish(): Promise<OutputFile[]> {
    this.encodeEnded();
    await this.#finalScan;
    for (;;) {
      if (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      else if (this.#queue.length > 0 && !this.#error && !this.#stopped) this.#pump();
      else break;
    }
    if (this.#error) throw this.#error;
    this.#stopped = true;
    return [...this.#stored].sort((a, b) => a.key.localeCompare(b.key));
  }

  /** The encode failed or was aborted: nothing new starts; uploads in flight are awaited (their keys are tracked by the runner, which removes them). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopTimer();
    this.#queue.length = 0;
    await this.#scanning;
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One look at the folder; concurrent looks are merged into the one running. */
  #scan(ffmpegExited: boolean): Promise<void> {
    if (this.#scanning) return this.#scanning;
    this.#scanning = this.#list()
      .then((listing) => {
        if (this.#stopped) return;
        for (const relative of closedHlsFiles(listing, ffmpegExited)) {
          const request = hlsFileRequest(this.#options.hlsDir, relative);
          if (request) this.add(request);
        }
      })
      .catch((error: unknown) => this.#fail(toMediaError(error)))
      .finally(() => {
        this.#scanning = undefined;
      });
    return this.#scanning;
  }

  /** Relative paths (`/`-separated) of every file under the folder; none while ffmpeg has not created it. */
  async #list(): Promise<string[]> {
    const entries = await readdir(this.#options.hlsDir, { recursive: true, withFileTypes: true }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return [];
        throw error;
      },
    );
    return entries
      .filter((entry) => entry.isFile())
      .map((entry) =>
        path.relative(this.#options.hlsDir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/"),
      );
  }

  #pump(): void {
    while (!this.#stopped && !this.#error && this.#running.size < this.#options.parallel && this.#queue.length > 0) {
      const request = this.#queue.shift()!;
      const running = this.#uploadOne(request);
      this.#running.add(running);
      void running.finally(() => {
        this.#running.delete(running);
        this.#pump();
      });
    }
  }

  async #uploadOne(request: OutputRequest): Promise<void> {
    try {
      throwIfAbortedWithReason(this.#options.signal);
      this.#firstStartedAt ??= Date.now();
      this.#stored.push(await this.#options.upload(request));
    } catch (error) {
      this.#fail(toMediaError(error));
    }
  }

  #fail(error: MediaError): void {
    if (this.#error) return;
    this.#error = error;
    this.#queue.length = 0;
    this.#stopTimer();
    this.#options.onError?.(error);
  }
}
