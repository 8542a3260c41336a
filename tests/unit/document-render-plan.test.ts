import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fitToWidth, MAX_HEIGHT_TO_WIDTH, planPageRenders } from "../../src/processors/document/render-plan.ts";

const defaults = { thumbWidthPx: 300, previewPages: 3, previewWidthPx: 1024 };

describe("planPageRenders", () => {
  it("renders page 1 once at the larger width, for both the thumbnail and its preview", () => {
    assert.deepEqual(planPageRenders(10, defaults), [
      { pageNumber: 1, widthPx: 1024, thumb: true, preview: true },
      { pageNumber: 2, widthPx: 1024, thumb: false, preview: true },
      { pageNumber: 3, widthPx: 1024, thumb: false, preview: true },
    ]);
  });

  it("a thumbnail wider than the previews decides page 1's width", () => {
    assert.deepEqual(
      planPageRenders(2, { thumbWidthPx: 800, previewPages: 2, previewWidthPx: 400 }).map((render) => render.widthPx),
      [800, 400],
    );
  });

  it("never plans pages the document does not have", () => {
    assert.deepEqual(
      planPageRenders(2, defaults).map((render) => render.pageNumber),
      [1, 2],
    );
    assert.deepEqual(planPageRenders(0, defaults), []);
  });

  it("without previews still renders page 1 for the thumbnail, at the thumbnail width", () => {
    assert.deepEqual(planPageRenders(5, { ...defaults, previewPages: 0 }), [
      { pageNumber: 1, widthPx: 300, thumb: true, preview: false },
    ]);
  });
});

describe("fitToWidth", () => {
  it("scales an A4 page (595×842 pt) to the target width", () => {
    const fitted = fitToWidth(595, 842, 300);
    assert.equal(fitted.widthPx, 300);
    assert.equal(fitted.heightPx, 425);
    assert.equal(fitted.scale, 300 / 595);
  });

  it("scales a huge page down, never renders it at scale 1", () => {
    const fitted = fitToWidth(14_400, 14_400, 1024);
    assert.deepEqual({ width: fitted.widthPx, height: fitted.heightPx }, { width: 1024, height: 1024 });
    assert.ok(fitted.scale < 0.1);
  });

  it("fits a banner page taller than 4 widths by its height", () => {
    const fitted = fitToWidth(72, 72_000, 1024);
    assert.equal(fitted.heightPx, 1024 * MAX_HEIGHT_TO_WIDTH);
    assert.equal(fitted.widthPx, 4);
  });

  it("gives a 1 px canvas rather than 0 or NaN for degenerate sizes", () => {
    for (const [width, height] of [
      [0, 0],
      [Number.NaN, 100],
      [1e9, 1],
    ]) {
      const fitted = fitToWidth(width!, height!, 300);
      assert.ok(fitted.widthPx >= 1 && fitted.heightPx >= 1, `${width}×${height}`);
      assert.ok(Number.isFinite(fitted.scale));
    }
  });
});
