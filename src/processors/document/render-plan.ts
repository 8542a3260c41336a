/**
 * Which pages are rendered, and at what scale. Pure: the pdf.js process asks this module and
 * obeys, so the decisions are unit-tested without pdf.js.
 */

/**
 * Pages taller than this many times the target width are fitted by height instead. A 1 × 1000
 * inch banner page fitted to 1024 px wide would ask for a 1024 × 1 024 000 canvas (4 GB of RGBA).
 */
export const MAX_HEIGHT_TO_WIDTH = 4;

export interface PageRender {
  pageNumber: number;
  /** Width the page is rendered at; the largest width any of its outputs needs. */
  widthPx: number;
  /** Page 1 yields `_thumb.webp`. */
  thumb: boolean;
  /** Pages 1..DOCUMENT_PREVIEW_PAGES yield `_page_<n>.webp`. */
  preview: boolean;
}

export interface RenderSettings {
  thumbWidthPx: number;
  previewPages: number;
  previewWidthPx: number;
}

/** Renders each page once: page 1 at the larger of the thumbnail and preview widths. */
export function planPageRenders(pageCount: number, settings: RenderSettings): PageRender[] {
  const renders: PageRender[] = [];
  // Page 1 is rendered even without previews: it is the thumbnail.
  const pagesToRender = Math.min(pageCount, Math.max(1, settings.previewPages));
  for (let pageNumber = 1; pageNumber <= pagesToRender; pageNumber += 1) {
    const thumb = pageNumber === 1;
    const preview = pageNumber <= settings.previewPages;
    const widthPx = Math.max(thumb ? settings.thumbWidthPx : 0, preview ? settings.previewWidthPx : 0);
    renders.push({ pageNumber, widthPx, thumb, preview });
  }
  return renders;
}

export interface FittedSize {
  /** pdf.js viewport scale: output pixels per PDF point. */
  scale: number;
  widthPx: number;
  heightPx: number;
}

/**
 * The scale that makes a page (in points, as displayed: rotation applied) `targetWidthPx`
 * wide — never scale 1 on a huge page — unless that would make it taller than
 * {@link MAX_HEIGHT_TO_WIDTH} × the width. Degenerate page sizes still give a 1 px canvas.
 */
export function fitToWidth(pageWidthPt: number, pageHeightPt: number, targetWidthPx: number): FittedSize {
  const width = Number.isFinite(pageWidthPt) && pageWidthPt > 0 ? pageWidthPt : 1;
  const height = Number.isFinite(pageHeightPt) && pageHeightPt > 0 ? pageHeightPt : 1;
  const maxHeightPx = targetWidthPx * MAX_HEIGHT_TO_WIDTH;
  const scale = Math.min(targetWidthPx / width, maxHeightPx / height);
  return {
    scale,
    widthPx: Math.max(1, Math.min(targetWidthPx, Math.round(width * scale))),
    heightPx: Math.max(1, Math.min(maxHeightPx, Math.round(height * scale))),
  };
}
