/**
 * PNG chunk surgery (pure). A PNG is an 8-byte signature followed by chunks of
 * length (4) · type (4) · data (length) · CRC (4); removing a whole chunk leaves every other
 * chunk and its CRC valid, so no re-encoding is needed.
 */

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function isPng(buffer: Buffer): boolean {
  return buffer.length >= PNG_SIGNATURE.length && buffer.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
}

/** The chunk types in file order. Throws on a buffer that is not a well-formed PNG. */
export function pngChunkTypes(png: Buffer): string[] {
  return chunks(png).map((chunk) => chunk.type);
}

/** The same PNG without the chunks of the given types (e.g. `eXIf`). */
export function withoutPngChunks(png: Buffer, types: readonly string[]): Buffer {
  const kept = chunks(png).filter((chunk) => !types.includes(chunk.type));
  return Buffer.concat([PNG_SIGNATURE, ...kept.map((chunk) => png.subarray(chunk.start, chunk.end))]);
}

function chunks(png: Buffer): Array<{ type: string; start: number; end: number }> {
  if (!isPng(png)) throw new Error("not a PNG: the signature is missing");
  const found: Array<{ type: string; start: number; end: number }> = [];
  let offset = PNG_SIGNATURE.length;
  while (offset < png.length) {
    if (offset + 12 > png.length) throw new Error(`truncated PNG chunk header at byte ${offset}`);
    const length = png.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > png.length) throw new Error(`truncated PNG chunk at byte ${offset}`);
    const type = png.toString("latin1", offset + 4, offset + 8);
    found.push({ type, start: offset, end });
    offset = end;
    if (type === "IEND") break;
  }
  return found;
}

/**
 * An APNG's animation control (the `acTL` chunk, which must come before the first IDAT): its
 * frame count and play count (0 = forever). Undefined for a still PNG. Reads only the head of
 * the file, tolerating a truncated tail.
 */
export function apngAnimation(head: Buffer): { frames: number; plays: number } | undefined {
  if (!isPng(head)) return undefined;
  let offset = PNG_SIGNATURE.length;
  while (offset + 8 <= head.length) {
    const length = head.readUInt32BE(offset);
    const type = head.toString("latin1", offset + 4, offset + 8);
    if (type === "IDAT" || type === "IEND") return undefined;
    if (type === "acTL" && length >= 8 && offset + 16 <= head.length) {
      return { frames: head.readUInt32BE(offset + 8), plays: head.readUInt32BE(offset + 12) };
    }
    offset += 12 + length;
  }
  return undefined;
}
