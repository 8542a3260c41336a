import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { countCharacters, countWords, pageTextFromItems } from "../../src/processors/document/text-stats.ts";

describe("pageTextFromItems", () => {
  it("joins items in order and breaks lines where pdf.js marks an end of line", () => {
    const items = [
      { str: "Hello", hasEOL: false },
      { str: " ", hasEOL: false },
      { str: "world  ", hasEOL: true },
      { type: "beginMarkedContent", id: "mc0" },
      { str: "Second line", hasEOL: false },
    ];
    assert.equal(pageTextFromItems(items), "Hello world\nSecond line");
  });

  it("is empty for a page without a text layer", () => {
    assert.equal(pageTextFromItems([]), "");
  });
});

describe("countWords", () => {
  it("counts Latin words and ignores punctuation and numbers' separators", () => {
    assert.equal(countWords("Revenue grew 12.5 percent, again!"), 5);
  });

  it("segments Japanese and Chinese text, which has no spaces, into words", () => {
    assert.equal(countWords("日本語の文書"), 3);
    assert.ok(countWords("我们今天去北京") >= 3);
  });

  it("counts nothing in whitespace and page breaks", () => {
    assert.equal(countWords(" \n\f\t "), 0);
  });
});

describe("countCharacters", () => {
  it("counts code points other than whitespace, astral characters once", () => {
    assert.equal(countCharacters("ab c\nd"), 4);
    assert.equal(countCharacters("日本 語"), 3);
    assert.equal(countCharacters("𝒳y"), 2);
  });
});
