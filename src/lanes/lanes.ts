import type { LaneSettings } from "../config/config.ts";
import type { LANE_MEDIA_KINDS } from "../config/env-parsers.ts";
import type { MediaKind } from "../media/detected-media.ts";

/**
 * Lanes by kind of work (MEDIA_LANES): each lane is its own queue with its own concurrency and
 * its own workers, so a burst of videos never holds the thumbnails of the images behind it. The
 * first lane is the entry lane: events arrive on its queue, and every kind no lane names (and
 * bytes nothing recognises) is its work. With one lane (the default) nothing is ever forwarded.
 */

/** Config lists the kinds by hand (it imports nothing of ours); this fails to compile when the two drift apart. */
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const KINDS_AGREE: SameSet<(typeof LANE_MEDIA_KINDS)[number], MediaKind> = true;
void KINDS_AGREE;

export function entryLane(lanes: readonly LaneSettings[]): LaneSettings {
  const entry = lanes[0];
  if (!entry) throw new Error("no lanes configured");
  return entry;
}

/** The lane whose work a media kind is: the lane naming it, else the entry lane. */
export function laneForKind(lanes: readonly LaneSettings[], kind: MediaKind | undefined): LaneSettings {
  return (kind ? lanes.find((lane) => lane.kinds.includes(kind)) : undefined) ?? entryLane(lanes);
}

export function laneNamed(lanes: readonly LaneSettings[], name: string): LaneSettings | undefined {
  return lanes.find((lane) => lane.name === name);
}
