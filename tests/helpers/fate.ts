import type { MediaError } from "../../src/errors.ts";
import { decide, type Fate } from "../../src/pipeline/outcome.ts";

/** What the job record becomes, in one word: `completed`, `failed`, `cancelled`, `released`, `retry-scheduled`, `none`. */
export function transitionLabel(fate: Fate): string {
  const transition = fate.jobTransition;
  if (transition.kind === "finish") return transition.status;
  if (transition.kind === "release") return transition.event;
  if (transition.kind === "complete") return "completed";
  return "none";
}

/**
 * What an error does to its job and message on a first receive (of 3), as the fate table decides
 * it: `failed → delete`, `cancelled → delete`, `retry-scheduled → retry`.
 */
export function firstReceiveFate(error: MediaError): string {
  const fate = decide({
    event: { kind: "error", error },
    receive: { receiveCount: 1, maxReceives: 3, retryDelaySec: 30 },
  });
  return `${transitionLabel(fate)} → ${fate.messageAction.action}`;
}
