import path from "node:path/posix";

/**
 * The output key layout. For `tenants/t1/users/u1/media/1700000000-abc-photo.jpg` and segment
 * `processed`:
 *   flat name `thumb_small.webp` → `tenants/t1/users/u1/media/processed/1700000000-abc-photo_thumb_small.webp`
 *   nested name `hls/master.m3u8` → `tenants/t1/users/u1/media/processed/1700000000-abc-photo/hls/master.m3u8`
 */
export interface OutputLayout {
  /** `…/processed/` including the trailing slash. */
  prefix: string;
  /** The source file name without its extension. */
  base: string;
}

export function outputLayout(sourceKey: string, outputSegment: string): OutputLayout {
  const directory = path.dirname(sourceKey);
  const fileName = path.basename(sourceKey);
  const extension = path.extname(fileName);
  const base = extension && extension !== fileName ? fileName.slice(0, -extension.length) : fileName;
  const prefix = directory === "." ? `${outputSegment}/` : `${directory}/${outputSegment}/`;
  return { prefix, base };
}

/** Output names are chosen by processors; they are checked so a bug can never escape the prefix. */
export function outputKey(layout: OutputLayout, name: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) || name.split("/").some((part) => part === ".." || part === ".")) {
    throw new Error(`invalid output name "${name}"`);
  }
  return name.includes("/") ? `${layout.prefix}${layout.base}/${name}` : `${layout.prefix}${layout.base}_${name}`;
}

export const MANIFEST_NAME = "manifest.json";
