import type { ObjectRef } from "../events/object-ref.ts";
import { jobIdFor, type JobSource } from "./job.model.ts";

/**
 * The job source of an object an event names, as every side derives it — the worker's claim,
 * the API's enqueue and retry, the intake and the DLQ views — so all compute the same job id.
 * ETag quotes are stripped here (S3 events carry them bare, HeadObject quoted).
 */
export function jobSourceOf(ref: ObjectRef): JobSource {
  return {
    bucket: ref.bucket,
    key: ref.key,
    ...(ref.size !== undefined ? { size: ref.size } : {}),
    ...(ref.eTag ? { eTag: ref.eTag.replace(/"/g, "") } : {}),
    ...(ref.versionId ? { versionId: ref.versionId } : {}),
  };
}

export const jobIdOfRef = (ref: ObjectRef): string => jobIdFor(jobSourceOf(ref));
