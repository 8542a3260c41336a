/**
 * Keyframe index of an MPEG-TS segment (pure): where each keyframe's PES packet starts and how
 * many bytes reach the next video PES, its presentation time, and where the segment's
 * PAT/PMT end (the Media Initialization Section an I-frame playlist's EXT-X-MAP names).
 * ffmpeg's TS muxer flags a keyframe's first packet with the random_access_indicator.
 */
export interface TsKeyframe {
  offset: number;
  length: number;
  ptsSec: number;
}

export interface TsKeyframeIndex {
  /** Bytes from the segment's start through its PMT packet. */
  initLength: number;
  keyframes: TsKeyframe[];
}

const PACKET = 188;
const H264_STREAM_TYPE = 0x1b;

export function tsKeyframeIndex(ts: Buffer): TsKeyframeIndex {
  let pmtPid: number | undefined;
  let videoPid: number | undefined;
  let initLength = 0;
  const starts: Array<{ offset: number; ptsSec: number | undefined; key: boolean }> = [];
  for (let offset = 0; offset + PACKET <= ts.length; offset += PACKET) {
    if (ts[offset] !== 0x47) throw new Error(`lost TS sync at byte ${offset}`);
    const pid = ((ts[offset + 1]! & 0x1f) << 8) | ts[offset + 2]!;
    const unitStart = (ts[offset + 1]! & 0x40) !== 0;
    const adaptation = (ts[offset + 3]! >> 4) & 0x03;
    const adaptationLength = adaptation & 0x02 ? ts[offset + 4]! : -1;
    const payload = offset + 4 + (adaptation & 0x02 ? 1 + adaptationLength : 0);
    if (!(adaptation & 0x01) || payload >= offset + PACKET) continue;
    if (pid === 0 && unitStart) {
      const section = payload + 1 + ts[payload]!;
      pmtPid = ((ts[section + 10]! & 0x1f) << 8) | ts[section + 11]!;
    } else if (pid === pmtPid && unitStart && videoPid === undefined) {
      const section = payload + 1 + ts[payload]!;
      const sectionLength = ((ts[section + 1]! & 0x0f) << 8) | ts[section + 2]!;
      const programInfoLength = ((ts[section + 10]! & 0x0f) << 8) | ts[section + 11]!;
      const end = section + 3 + sectionLength - 4;
      for (
        let entry = section + 12 + programInfoLength;
        entry + 5 <= end;
        entry += 5 + (((ts[entry + 3]! & 0x0f) << 8) | ts[entry + 4]!)
      ) {
        if (ts[entry] === H264_STREAM_TYPE) {
          videoPid = ((ts[entry + 1]! & 0x1f) << 8) | ts[entry + 2]!;
          break;
        }
      }
      initLength = offset + PACKET;
    } else if (pid === videoPid && unitStart) {
      const key = adaptationLength > 0 && (ts[offset + 5]! & 0x40) !== 0;
      starts.push({ offset, ptsSec: pesPts(ts, payload), key });
    }
  }
  const keyframes: TsKeyframe[] = [];
  starts.forEach((start, index) => {
    if (!start.key || start.ptsSec === undefined) return;
    const next = starts[index + 1]?.offset ?? ts.length;
    keyframes.push({ offset: start.offset, length: next - start.offset, ptsSec: start.ptsSec });
  });
  return { initLength, keyframes };
}

/** The PTS of a PES header at `at`, in seconds (90 kHz clock). */
function pesPts(ts: Buffer, at: number): number | undefined {
  if (ts[at] !== 0 || ts[at + 1] !== 0 || ts[at + 2] !== 1) return undefined;
  if (((ts[at + 7] ?? 0) & 0x80) === 0) return undefined;
  const p = at + 9;
  const value =
    ((ts[p]! >> 1) & 0x07) * 2 ** 30 +
    ((ts[p + 1]! << 7) | (ts[p + 2]! >> 1)) * 2 ** 15 +
    ((ts[p + 3]! << 7) | (ts[p + 4]! >> 1));
  return value / 90_000;
}
