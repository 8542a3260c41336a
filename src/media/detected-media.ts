/** What the bytes of an upload say it is; the registry routes on this, never on the extension. */
export type MediaKind = "image" | "video" | "audio" | "document" | "playlist" | "unknown";

export interface DetectedMedia {
  kind: MediaKind;
  /** Short format name: jpeg, png, webp, mp4, pdf, … */
  format: string;
  mime: string;
  /** Filled by deeper probes (sharp metadata, ffprobe) when a processor runs them. */
  details?: Record<string, unknown>;
}
