import assert from "node:assert/strict";
import { test } from "node:test";
import { type AbortReason, type ErrorCategory, MediaError } from "../../src/errors.ts";
import type { PublishOutcome } from "../../src/job-events/job-event.publisher.ts";
import {
  combineActions,
  decide,
  type Fate,
  type FateFacts,
  receiveOf,
  type Recorded,
} from "../../src/pipeline/outcome.ts";
import type { MessageAction } from "../../src/queue/media.consumer.ts";
import { transitionLabel } from "../helpers/fate.ts";

// The message-fate table, row by row: what a delivery's job record becomes, what happens to the
// message, which counters move and how loudly it is logged. Each row is one test with one
// assertion; the expected column is written out, never computed.

const FIRST = { receiveCount: 1, maxReceives: 3, retryDelaySec: 30 };
const LAST = { receiveCount: 3, maxReceives: 3, retryDelaySec: 120 };

/** One line per fate: transition · message action · publish · counters · log level. */
function summary(fate: Fate): string {
  const action = fate.messageAction;
  const message = action.action === "retry" ? `retry ${action.delaySec}s` : action.action;
  const labels = fate.metricLabels;
  const counters = [
    labels.jobErrors ? `errors:${labels.jobErrors.category}` : "",
    labels.jobsTotal ? `jobs:${labels.jobsTotal.status}` : "",
    labels.jobDuration ? "duration" : "",
    labels.messagesDropped ? `dropped:${labels.messagesDropped.reason}` : "",
  ].filter(Boolean);
  return [
    transitionLabel(fate),
    message,
    fate.publish ? "publish" : "-",
    counters.join(" ") || "-",
    fate.log?.level ?? "silent",
  ].join(" · ");
}

const errorOf = (category: ErrorCategory, retryable?: boolean) =>
  new MediaError(`a ${category} error`, {
    code: `${category}-code`,
    category,
    ...(retryable !== undefined ? { retryable } : {}),
  });
const error = (
  category: ErrorCategory,
  receive: typeof FIRST,
  publish: PublishOutcome,
  more: { retryable?: boolean; abortReason?: AbortReason; recorded?: Recorded } = {},
): FateFacts => ({
  event: {
    kind: "error",
    error: errorOf(category, more.retryable),
    ...(more.abortReason ? { abortReason: more.abortReason } : {}),
  },
  receive,
  recorded: more.recorded ?? "ok",
  publish,
});

const rows: Array<[string, FateFacts, string]> = [
  // Every category, on its first and on its last receive, with the job event published or not.
  [
    "transient, first receive",
    error("transient", FIRST, "published"),
    "retry-scheduled · retry 30s · - · errors:transient · warn",
  ],
  [
    "transient, first receive, publish failed (none owed)",
    error("transient", FIRST, "failed"),
    "retry-scheduled · retry 30s · - · errors:transient · warn",
  ],
  [
    "transient, last receive",
    error("transient", LAST, "published"),
    "failed · retry 120s · publish · errors:transient jobs:failed · error",
  ],
  [
    "transient, last receive, publish failed",
    error("transient", LAST, "failed"),
    "failed · retry 120s · publish · errors:transient jobs:failed · error",
  ],
  [
    "configuration, first receive",
    error("configuration", FIRST, "published"),
    "retry-scheduled · retry 30s · - · errors:configuration · warn",
  ],
  [
    "configuration, first receive, publish failed (none owed)",
    error("configuration", FIRST, "failed"),
    "retry-scheduled · retry 30s · - · errors:configuration · warn",
  ],
  [
    "configuration, last receive",
    error("configuration", LAST, "published"),
    "failed · retry 120s · publish · errors:configuration jobs:failed · error",
  ],
  [
    "configuration, last receive, publish failed",
    error("configuration", LAST, "failed"),
    "failed · retry 120s · publish · errors:configuration jobs:failed · error",
  ],
  [
    "processing, first receive",
    error("processing", FIRST, "published"),
    "failed · delete · publish · errors:processing jobs:failed · warn",
  ],
  [
    "processing, first receive, publish failed",
    error("processing", FIRST, "failed"),
    "failed · retry 30s · publish · errors:processing jobs:failed · warn",
  ],
  [
    "processing, last receive",
    error("processing", LAST, "published"),
    "failed · delete · publish · errors:processing jobs:failed · warn",
  ],
  [
    "processing, last receive, publish failed",
    error("processing", LAST, "failed"),
    "failed · retry 120s · publish · errors:processing jobs:failed · warn",
  ],
  [
    "processing, no topic",
    error("processing", FIRST, "off"),
    "failed · delete · publish · errors:processing jobs:failed · warn",
  ],
  [
    "resource, first receive",
    error("resource", FIRST, "published"),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "resource, first receive, publish failed",
    error("resource", FIRST, "failed"),
    "failed · retry 30s · publish · errors:resource jobs:failed · warn",
  ],
  [
    "resource, last receive",
    error("resource", LAST, "published"),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "resource, last receive, publish failed",
    error("resource", LAST, "failed"),
    "failed · retry 120s · publish · errors:resource jobs:failed · warn",
  ],
  [
    "cancelled, first receive",
    error("cancelled", FIRST, "published"),
    "cancelled · delete · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancelled, first receive, publish failed",
    error("cancelled", FIRST, "failed"),
    "cancelled · retry 30s · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancelled, last receive",
    error("cancelled", LAST, "published"),
    "cancelled · delete · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancelled, last receive, publish failed",
    error("cancelled", LAST, "failed"),
    "cancelled · retry 120s · publish · errors:cancelled jobs:cancelled · warn",
  ],
  // A retryable error of a category that is final by default (disk full) is retried; a non-retryable transient one fails now.
  [
    "retryable resource (disk full), first receive",
    error("resource", FIRST, "published", { retryable: true }),
    "retry-scheduled · retry 30s · - · errors:resource · warn",
  ],
  [
    "retryable resource (disk full), last receive",
    error("resource", LAST, "published", { retryable: true }),
    "failed · retry 120s · publish · errors:resource jobs:failed · error",
  ],
  [
    "non-retryable transient, first receive",
    error("transient", FIRST, "published", { retryable: false }),
    "failed · delete · publish · errors:transient jobs:failed · warn",
  ],
  // The job's signal says what really happened, whatever the interrupted step threw.
  [
    "shutdown, first receive",
    error("processing", FIRST, "published", { abortReason: "shutdown" }),
    "released · release · - · errors:transient · info",
  ],
  [
    "shutdown, last receive",
    error("processing", LAST, "failed", { abortReason: "shutdown" }),
    "released · release · - · errors:transient · info",
  ],
  [
    "shutdown of a retryable error, last receive",
    error("transient", LAST, "published", { abortReason: "shutdown" }),
    "released · release · - · errors:transient · info",
  ],
  [
    "cancel, first receive",
    error("transient", FIRST, "published", { abortReason: "cancelled" }),
    "cancelled · delete · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancel, first receive, publish failed",
    error("transient", FIRST, "failed", { abortReason: "cancelled" }),
    "cancelled · retry 30s · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancel, last receive",
    error("transient", LAST, "published", { abortReason: "cancelled" }),
    "cancelled · delete · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "cancel, last receive, publish failed",
    error("transient", LAST, "failed", { abortReason: "cancelled" }),
    "cancelled · retry 120s · publish · errors:cancelled jobs:cancelled · warn",
  ],
  [
    "timeout, first receive",
    error("transient", FIRST, "published", { abortReason: "timeout" }),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "timeout, first receive, publish failed",
    error("transient", FIRST, "failed", { abortReason: "timeout" }),
    "failed · retry 30s · publish · errors:resource jobs:failed · warn",
  ],
  [
    "timeout, last receive",
    error("transient", LAST, "published", { abortReason: "timeout" }),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "timeout, last receive, publish failed",
    error("transient", LAST, "failed", { abortReason: "timeout" }),
    "failed · retry 120s · publish · errors:resource jobs:failed · warn",
  ],
  [
    "visibility limit, first receive",
    error("processing", FIRST, "published", { abortReason: "visibility-limit" }),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "visibility limit, first receive, publish failed",
    error("processing", FIRST, "failed", { abortReason: "visibility-limit" }),
    "failed · retry 30s · publish · errors:resource jobs:failed · warn",
  ],
  [
    "visibility limit, last receive",
    error("processing", LAST, "published", { abortReason: "visibility-limit" }),
    "failed · delete · publish · errors:resource jobs:failed · warn",
  ],
  [
    "visibility limit, last receive, publish failed",
    error("processing", LAST, "failed", { abortReason: "visibility-limit" }),
    "failed · retry 120s · publish · errors:resource jobs:failed · warn",
  ],
  // Recording the failure: Redis down keeps the message; a lease another worker took is carried on as recorded.
  [
    "processing, Redis down while recording",
    error("processing", FIRST, "published", { recorded: "store-down" }),
    "failed · retry 30s · - · errors:processing · error",
  ],
  [
    "transient, Redis down while recording",
    error("transient", FIRST, "published", { recorded: "store-down" }),
    "retry-scheduled · retry 30s · - · errors:transient · error",
  ],
  [
    "shutdown, Redis down while recording",
    error("processing", LAST, "published", { abortReason: "shutdown", recorded: "store-down" }),
    "released · retry 120s · - · errors:transient · error",
  ],
  [
    "processing, lease lost",
    error("processing", FIRST, "published", { recorded: "lost" }),
    "failed · delete · publish · errors:processing jobs:failed · warn",
  ],
  // Success.
  [
    "success, publishd",
    { event: { kind: "success" }, receive: FIRST, recorded: "ok", publish: "published" },
    "completed · delete · publish · jobs:completed duration · info",
  ],
  [
    "success, no topic",
    { event: { kind: "success" }, receive: FIRST, recorded: "ok", publish: "off" },
    "completed · delete · publish · jobs:completed duration · info",
  ],
  [
    "success, publish failed",
    { event: { kind: "success" }, receive: LAST, recorded: "ok", publish: "failed" },
    "completed · retry 120s · publish · jobs:completed duration · info",
  ],
  [
    "success, lease lost to another worker",
    { event: { kind: "success" }, receive: FIRST, recorded: "lost" },
    "completed · keep · - · - · warn",
  ],
  [
    "chunked video handed to its chunk tasks",
    { event: { kind: "handed-off" }, receive: FIRST },
    "none · delete · - · - · info",
  ],
  // Claims.
  ["claim, Redis down", { event: { kind: "claim-failed" }, receive: FIRST }, "none · retry 30s · - · - · error"],
  [
    "claim, busy under another message",
    { event: { kind: "busy", otherMessage: true }, receive: FIRST },
    "none · delete · - · dropped:duplicate · info",
  ],
  [
    "claim, busy under this same message",
    { event: { kind: "busy", otherMessage: false }, receive: LAST },
    "none · keep · - · - · info",
  ],
  [
    "claim, finished before, publishd",
    { event: { kind: "finished-before", status: "completed" }, receive: FIRST, publish: "already" },
    "none · delete · publish · dropped:duplicate · info",
  ],
  [
    "claim, cancelled while queued, publish failed",
    { event: { kind: "finished-before", status: "cancelled" }, receive: FIRST, publish: "failed" },
    "none · retry 30s · publish · - · silent",
  ],
  [
    "claim, failed before, no topic",
    { event: { kind: "finished-before", status: "failed" }, receive: LAST, publish: "off" },
    "none · delete · publish · dropped:duplicate · info",
  ],
  // Not ours at all.
  [
    "body is not an S3 event",
    { event: { kind: "unparseable", reason: "not-json" }, receive: FIRST },
    "none · delete · - · dropped:invalid-not-json · warn",
  ],
];

for (const [name, facts, expected] of rows) {
  test(`fate: ${name}`, () => {
    assert.equal(summary(decide(facts)), expected);
  });
}

test("fate: before the transition is tried, the plan is the same transition the settled fate records", () => {
  const planned = decide({ event: { kind: "error", error: errorOf("transient") }, receive: LAST });
  assert.deepEqual(planned.jobTransition, {
    kind: "finish",
    status: "failed",
    error: { category: "transient", code: "transient-code", message: "a transient error", retryable: true },
    detail: { attempt: 3, final: true, dlq: "the queue's redrive policy moves the message to the DLQ" },
  });
});

test("fate: a transient retry records its attempt and delay on the job", () => {
  const planned = decide({ event: { kind: "error", error: errorOf("transient") }, receive: FIRST });
  assert.deepEqual(planned.jobTransition, {
    kind: "release",
    event: "retry-scheduled",
    error: { category: "transient", code: "transient-code", message: "a transient error", retryable: true },
    detail: { attempt: 1, delaySec: 30 },
  });
});

test("fate: an aborted run records the abort's error, not what the interrupted step threw", () => {
  const fate = decide({
    event: { kind: "error", error: errorOf("transient"), abortReason: "timeout" },
    receive: FIRST,
  });
  assert.deepEqual(fate.error?.toJobError(), {
    category: "resource",
    code: "processing-timeout",
    message: "processing took longer than PROCESSING_TIMEOUT",
    retryable: false,
  });
});

test("fate: a delivery's back-off delay is drawn from its receive count", () => {
  const queue = { maxReceives: 5, retryBackoffBaseSec: 10, retryBackoffMaxSec: 600 } as Parameters<typeof receiveOf>[1];
  assert.deepEqual(
    receiveOf(3, queue, () => 1),
    { receiveCount: 3, maxReceives: 5, retryDelaySec: 40 },
  );
});

const combineRows: Array<[string, MessageAction[], number, MessageAction]> = [
  ["all deleted", [{ action: "delete" }, { action: "delete" }], 2, { action: "delete" }],
  ["one kept", [{ action: "delete" }, { action: "keep" }], 2, { action: "keep" }],
  [
    "retry beats keep, the longest delay wins",
    [{ action: "keep" }, { action: "retry", delaySec: 5 }, { action: "retry", delaySec: 50 }],
    3,
    { action: "retry", delaySec: 50 },
  ],
  ["release beats retry", [{ action: "retry", delaySec: 5 }, { action: "release" }], 2, { action: "release" }],
  ["objects left unrun (shutdown mid-message) release it", [{ action: "delete" }], 2, { action: "release" }],
  ["a message with no objects of ours is deleted", [], 0, { action: "delete" }],
];

for (const [name, actions, expected, combined] of combineRows) {
  test(`combined message action: ${name}`, () => {
    assert.deepEqual(combineActions(actions, expected), combined);
  });
}
