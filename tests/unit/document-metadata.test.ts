import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  cleanText,
  describePdf,
  MAX_METADATA_TEXT_LENGTH,
  parsePdfDate,
  type RawPdfFacts,
} from "../../src/processors/document/pdf-metadata.ts";

describe("parsePdfDate", () => {
  it("reads full dates with a UTC offset", () => {
    assert.equal(parsePdfDate("D:20240301102030+01'00'"), "2024-03-01T09:20:30.000Z");
    assert.equal(parsePdfDate("D:20240301102030-05'30"), "2024-03-01T15:50:30.000Z");
    assert.equal(parsePdfDate("D:20240301102030Z"), "2024-03-01T10:20:30.000Z");
  });

  it("reads partial dates and dates without the D: prefix", () => {
    assert.equal(parsePdfDate("D:2024"), "2024-01-01T00:00:00.000Z");
    assert.equal(parsePdfDate("202403"), "2024-03-01T00:00:00.000Z");
  });

  it("refuses what is not a date", () => {
    for (const value of ["", "yesterday", "D:20241301", "D:20240231", "D:20240101256000", 20240101, null]) {
      assert.equal(parsePdfDate(value), null, String(value));
    }
  });
});

describe("cleanText", () => {
  it("trims, drops control characters and caps hostile lengths", () => {
    assert.equal(cleanText("  Annual\u0000 report\u0007 "), "Annual report");
    assert.equal(cleanText("   "), null);
    assert.equal(cleanText(42), null);
    assert.equal([...(cleanText("x".repeat(1_000_000)) ?? "")].length, MAX_METADATA_TEXT_LENGTH);
    assert.equal(cleanText(["Ada", "Grace"]), "Ada, Grace");
  });
});

describe("describePdf", () => {
  const raw: RawPdfFacts = {
    info: {
      PDFFormatVersion: "1.7",
      Title: "Report",
      Author: "Ada",
      Keywords: "a, b",
      CreationDate: "D:20240301102030Z",
      EncryptFilterName: "Standard",
      IsAcroFormPresent: true,
      IsXFAPresent: false,
      IsLinearized: false,
    },
    xmp: { "dc:description": "From XMP", "xmp:modifydate": "2024-03-02T00:00:00Z", "dc:title": "Ignored: Info wins" },
    pageCount: 12,
    firstPage: { widthPt: 841.89, heightPt: 595.276, rotation: 90 },
    markInfo: { Marked: true },
    hasJavaScript: true,
  };

  it("maps Info fields, falls back to XMP, and reports the flags", () => {
    assert.deepEqual(describePdf(raw), {
      format: "pdf",
      pdfVersion: "1.7",
      pageCount: 12,
      pageWidthPt: 841.89,
      pageHeightPt: 595.28,
      pageRotation: 90,
      title: "Report",
      author: "Ada",
      subject: "From XMP",
      keywords: "a, b",
      creator: null,
      producer: null,
      createdAt: "2024-03-01T10:20:30.000Z",
      modifiedAt: "2024-03-02T00:00:00.000Z",
      encrypted: true,
      tagged: true,
      hasForms: true,
      hasXfa: false,
      hasJavaScript: true,
      linearized: false,
    });
  });

  it("an unencrypted, untagged document says so", () => {
    const facts = describePdf({ ...raw, info: {}, xmp: {}, markInfo: null, hasJavaScript: false, firstPage: null });
    assert.equal(facts.encrypted, false);
    assert.equal(facts.tagged, false);
    assert.equal(facts.pageWidthPt, null);
    assert.equal(facts.pdfVersion, null);
  });
});
