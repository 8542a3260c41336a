/**
 * Turns pdf.js text items into page text and counts words and characters. Pure and
 * language-independent: words are Unicode word segments (UAX #29, with ICU's dictionaries for
 * scripts written without spaces such as Chinese, Japanese and Thai), not whitespace splits.
 */

/**
 * Separates pages in `_text.txt`: a form feed, as pdftotext writes it. It never occurs in
 * extracted text and does not change word or character counts.
 */
export const PAGE_BREAK = "\f";

/** The part of a pdf.js TextItem this module reads; TextMarkedContent items have no `str`. */
export interface TextPiece {
  str: string;
  hasEOL: boolean;
}

const isTextPiece = (item: unknown): item is TextPiece =>
  typeof item === "object" && item !== null && typeof (item as TextPiece).str === "string";

/**
 * Page text in content-stream order, which is reading order for the PDFs tools write; pdf.js
 * marks line ends with `hasEOL`. Trailing spaces are dropped from each line.
 */
export function pageTextFromItems(items: readonly unknown[]): string {
  let text = "";
  for (const item of items) {
    if (!isTextPiece(item)) continue;
    text += item.str;
    if (item.hasEOL) text += "\n";
  }
  return text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .trim();
}

const WORD_SEGMENTER = new Intl.Segmenter("und", { granularity: "word" });

/** Word-like Unicode segments: "Hello, wörld 世界" counts 3 words (ICU splits 世界 as one word). */
export function countWords(text: string): number {
  let words = 0;
  for (const segment of WORD_SEGMENTER.segment(text)) if (segment.isWordLike) words += 1;
  return words;
}

/**
 * Code points that are not whitespace. Spaces and line breaks are layout that pdf.js infers,
 * so leaving them out keeps the count stable across extraction details.
 */
export function countCharacters(text: string): number {
  let characters = 0;
  for (const _ of text.replace(/\s+/gu, "")) characters += 1;
  return characters;
}

export interface TextStats {
  /** Pages whose text was read (at most DOCUMENT_MAX_TEXT_PAGES). */
  pagesExtracted: number;
  /** Why fewer than all pages were read, if so. */
  truncated: "page-limit" | "time-budget" | null;
  wordCount: number;
  characterCount: number;
  /** Characters per extracted page, page 1 first; 0 on a page without a text layer (a scan). */
  pageCharacterCounts: number[];
  /** Pages whose text could not be read (pdf.js error); they count 0. */
  pagesFailed: number[];
}
