import { detectFromBytes, SNIFF_BYTES } from "../media/detect-type.ts";
import type { MediaKind } from "../media/detected-media.ts";
import type { ObjectRef } from "../s3-events/object-ref.ts";
import type { ObjectStore } from "../storage/object-store.ts";

/**
 * What an upload's bytes say it is, from one ranged GET of the head detectFromBytes reads
 * (never the key's extension: a JPEG named `.mp4` is an image). Undefined when the head cannot
 * be read (the object is gone, empty, or S3 refuses): the entry lane then runs the job, whose
 * own download meets the same problem and records it on the job.
 * Magic numbers alone see an audio-only MP4 as video; it goes to the video lane, where the
 * processor's ffprobe refines it, as it would with one lane.
 */
export async function sniffKind(
  objects: ObjectStore,
  ref: ObjectRef,
  signal?: AbortSignal,
): Promise<MediaKind | undefined> {
  try {
    const head = await objects.readHead(ref.bucket, ref.key, SNIFF_BYTES, {
      versionId: ref.versionId,
      ...(signal ? { signal } : {}),
    });
    if (head.length === 0) return undefined;
    return detectFromBytes(head).kind;
  } catch {
    return undefined;
  }
}
