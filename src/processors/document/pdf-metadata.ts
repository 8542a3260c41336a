/**
 * Document facts from what pdf.js reports (the Info dictionary, XMP, mark info). Pure: the
 * pdf.js process gathers the raw values, this module decides what they mean. Every string is
 * capped, because a hostile PDF can carry a megabyte title into the job record.
 */

export interface DocumentFacts {
  format: "pdf";
  /** `%PDF-1.7` header version, as pdf.js reads it. */
  pdfVersion: string | null;
  pageCount: number;
  /** Page 1 as displayed (its /Rotate applied), in PDF points (1/72 inch). */
  pageWidthPt: number | null;
  pageHeightPt: number | null;
  pageRotation: number;
  title: string | null;
  author: string | null;
  subject: string | null;
  keywords: string | null;
  creator: string | null;
  producer: string | null;
  /** ISO 8601 in UTC. */
  createdAt: string | null;
  modifiedAt: string | null;
  /** Encrypted with an empty user password (else it would not have opened): readable, maybe with restrictions. */
  encrypted: boolean;
  /** Tagged PDF (/MarkInfo /Marked true): it carries a structure tree for accessibility. */
  tagged: boolean;
  hasForms: boolean;
  hasXfa: boolean;
  /** Document-level or form-field JavaScript. It is never run here; this only reports it. */
  hasJavaScript: boolean;
  linearized: boolean;
}

/** What the pdf.js process collects for {@link describePdf}. */
export interface RawPdfFacts {
  info: Record<string, unknown>;
  /** XMP values by name (`dc:title`, …) for the fields the Info dictionary lacks. */
  xmp: Record<string, unknown>;
  pageCount: number;
  firstPage: { widthPt: number; heightPt: number; rotation: number } | null;
  markInfo: { Marked?: unknown } | null;
  hasJavaScript: boolean;
}

export const MAX_METADATA_TEXT_LENGTH = 1000;

export function describePdf(raw: RawPdfFacts): DocumentFacts {
  const { info, xmp } = raw;
  const field = (infoKey: string, xmpKey: string) => cleanText(info[infoKey]) ?? cleanText(xmp[xmpKey]);
  return {
    format: "pdf",
    pdfVersion: cleanText(info.PDFFormatVersion),
    pageCount: raw.pageCount,
    pageWidthPt: raw.firstPage ? round2(raw.firstPage.widthPt) : null,
    pageHeightPt: raw.firstPage ? round2(raw.firstPage.heightPt) : null,
    pageRotation: raw.firstPage?.rotation ?? 0,
    title: field("Title", "dc:title"),
    author: field("Author", "dc:creator"),
    subject: field("Subject", "dc:description"),
    keywords: field("Keywords", "pdf:keywords"),
    creator: field("Creator", "xmp:creatortool"),
    producer: field("Producer", "pdf:producer"),
    createdAt: parsePdfDate(info.CreationDate) ?? parseIsoDate(xmp["xmp:createdate"]),
    modifiedAt: parsePdfDate(info.ModDate) ?? parseIsoDate(xmp["xmp:modifydate"]),
    encrypted: typeof info.EncryptFilterName === "string" && info.EncryptFilterName !== "",
    tagged: raw.markInfo?.Marked === true,
    hasForms: info.IsAcroFormPresent === true || info.IsXFAPresent === true,
    hasXfa: info.IsXFAPresent === true,
    hasJavaScript: raw.hasJavaScript,
    linearized: info.IsLinearized === true,
  };
}

/** Trimmed text without control characters, at most {@link MAX_METADATA_TEXT_LENGTH} code points; null when empty. */
export function cleanText(value: unknown): string | null {
  const joined = Array.isArray(value) ? value.filter((part) => typeof part === "string").join(", ") : value;
  if (typeof joined !== "string") return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: metadata strings are stripped of control characters on purpose
  const cleaned = joined.replace(/[\u0000-\u0008\u000b-\u001f\u007f\ufeff]/g, "").trim();
  if (cleaned === "") return null;
  const codePoints = [...cleaned];
  return codePoints.length > MAX_METADATA_TEXT_LENGTH
    ? codePoints.slice(0, MAX_METADATA_TEXT_LENGTH).join("")
    : cleaned;
}

/** `D:YYYYMMDDHHmmSSOHH'mm'` (PDF 32000-1 §7.9.4; everything after the year optional) → ISO 8601 UTC. */
const PDF_DATE =
  /^\s*(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+-])(?:(\d{2})'?(?:(\d{2})'?)?)?)?\s*$/;

export function parsePdfDate(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const match = PDF_DATE.exec(value);
  if (!match) return null;
  const [year, month = 1, day = 1, hour = 0, minute = 0, second = 0] = match
    .slice(1, 7)
    .map((part) => (part === undefined ? undefined : Number(part)));
  const offsetSign = match[7] === "+" ? 1 : match[7] === "-" ? -1 : 0;
  const offsetMinutes = offsetSign * (Number(match[8] ?? 0) * 60 + Number(match[9] ?? 0));
  if (year === undefined || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return null;
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes * 60_000;
  const date = new Date(utc);
  // Date.UTC rolls 31 February into March; a date that does not exist is not a date.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function parseIsoDate(value: unknown): string | null {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const round2 = (value: number) => Math.round(value * 100) / 100;
