import type { DocumentFacts } from "./pdf-metadata.ts";
import type { SerializedError } from "./pdf-errors.ts";
import type { RenderSettings } from "./render-plan.ts";
import type { TextStats } from "./text-stats.ts";

/**
 * Messages between the worker and its pdf.js child process (IPC with the "advanced"
 * serialization, so page pixels travel as Uint8Array). One job at a time per child.
 */

export interface DocumentJob extends RenderSettings {
  /** The PDF to read (the job's input, or LibreOffice's output). */
  pdfPath: string;
  /** Where the child writes the page text, page breaks marked with a form feed. */
  textPath: string;
  maxTextPages: number;
  maxImagePixels: number;
  /** Epoch ms after which no further page's text is read; the worker kills the child a little later. */
  textDeadlineAt: number;
}

export type ParentMessage = { type: "run"; job: DocumentJob };

export interface RenderedPage {
  pageNumber: number;
  widthPx: number;
  heightPx: number;
  /** Straight (not premultiplied) RGBA, rows top to bottom, on a white background. */
  rgba: Uint8Array;
  thumb: boolean;
  preview: boolean;
}

export interface ChildReady {
  type: "ready";
  pdfjsVersion: string;
  /** False when eval()/new Function() throw in the child, as they must. */
  codeGenerationFromStrings: boolean;
  importMs: number;
}

export type ChildMessage =
  | ChildReady
  | { type: "opened"; pageCount: number; pdfVersion: string | null }
  | ({ type: "page" } & RenderedPage)
  | { type: "page-failed"; pageNumber: number; error: SerializedError }
  | { type: "progress"; percent: number; step: string }
  | { type: "done"; facts: DocumentFacts; text: TextStats }
  | { type: "failed"; error: SerializedError };

export type ChildEvent = Exclude<ChildMessage, ChildReady | { type: "done" } | { type: "failed" }>;
