import { SQS_MAX_VISIBILITY_SEC } from "../config/sqs-limits.ts";

/**
 * Visibility delay before a transiently failed message is received again: exponential in the
 * receive count, full jitter on the upper half (so a burst of failures does not come back as a
 * burst), capped, and never beyond SQS's 12 hour visibility limit.
 */
export function retryDelaySec(
  receiveCount: number,
  baseSec: number,
  maxSec: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, receiveCount - 1);
  const ceiling = Math.min(maxSec, baseSec * 2 ** Math.min(exponent, 30));
  const jittered = ceiling / 2 + random() * (ceiling / 2);
  return Math.min(SQS_MAX_VISIBILITY_SEC, Math.max(0, Math.round(jittered)));
}
