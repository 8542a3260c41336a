/** What the bytes of an upload say it is; the registry routes on this, never on the extension. */
export type MediaKind = "image" | "video" | "audio" | "document" | "playlist" | "unknown";

export interface DetectedMedia {
  kind: MediaKind;
  /** Short format name: jpeg, png, webp, mp4, pdf, … */
  format: string;
  mime: string;
  /**
   * Set when the bytes are a known format that the worker's ffmpeg 5.1 cannot read at all: the
   * format's name in words ("Multi-channel AMR"); the registry refuses it saying so.
   */
  unsupported?: string;
  /** Filled by deeper probes (sharp metadata, ffprobe) when a processor runs them. */
  details?: Record<string, unknown>;
}
