import sharp from "sharp";
import type { RenderedPage } from "./child-protocol.ts";
import { MAX_HEIGHT_TO_WIDTH } from "./render-plan.ts";

/**
 * Encodes a rendered page into its outputs with sharp: `thumb.webp` from page 1 and
 * `page_<n>.webp` from each previewed page. One render serves both (page 1 is rendered at the
 * larger width and scaled down with sharp's Lanczos, sharper than a second small render).
 */

export interface EncodedPage {
  name: string;
  variant: string;
  data: Buffer;
  width: number;
  height: number;
}

export interface EncodeSettings {
  thumbWidthPx: number;
  previewWidthPx: number;
  webpQuality: number;
}

export async function encodePage(page: RenderedPage, settings: EncodeSettings): Promise<EncodedPage[]> {
  const targets: Array<{ name: string; variant: string; widthPx: number }> = [];
  if (page.thumb) targets.push({ name: "thumb.webp", variant: "thumb", widthPx: settings.thumbWidthPx });
  if (page.preview)
    targets.push({
      name: `page_${page.pageNumber}.webp`,
      variant: `page_${page.pageNumber}`,
      widthPx: settings.previewWidthPx,
    });
  return Promise.all(
    targets.map(async (target) => ({ ...target, ...(await toWebp(page, target.widthPx, settings.webpQuality)) })),
  );
}

async function toWebp(
  page: RenderedPage,
  widthPx: number,
  quality: number,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(page.rgba, { raw: { width: page.widthPx, height: page.heightPx, channels: 4 } })
    // Same fit as the render: the width, unless the page is more than 4 widths tall.
    .resize(widthPx, widthPx * MAX_HEIGHT_TO_WIDTH, { fit: "inside", withoutEnlargement: true })
    // The page was rendered on white; flattening drops the alpha channel a WebP does not need.
    .flatten({ background: "#ffffff" })
    .webp({ quality, effort: 4 })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}
