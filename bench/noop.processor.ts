import type { DetectedMedia } from "../src/media/detected-media.ts";
import type { Processor } from "../src/processors/processor.ts";

/**
 * The no-op processor of the queue-overhead benchmark, loaded as a plug-in
 * (PROCESSOR_MODULES=./bench/noop.processor.ts). It takes what nothing else does (plain text
 * detects as `unknown`) and produces nothing, so a job costs only the pipeline around it:
 * receive → claim in Redis → download → detect → timeline → manifest → complete → delete.
 */
export const processor: Processor = {
  name: "noop",
  accepts: (media: DetectedMedia) => media.kind === "unknown",
  process: async () => ({ outputs: [], metadata: { noop: true } }),
};
