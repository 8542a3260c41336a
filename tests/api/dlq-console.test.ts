import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, type JobRecord, type JobSource } from "../../src/jobs/job.model.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";

/**
 * The DLQ as an operator works with it, against the emulator's real DLQ and no worker: a peek
 * lists messages with their object keys and their jobs' last errors and consumes nothing (the
 * DLQ holds as many visible messages after as before); a filtered redrive moves only what
 * matches, in the background; a redrive of all reports the body that is not an event and
 * leaves it in the DLQ, and only an admin token may drop it.
 */
type Peek = {
  complete: boolean;
  messages: Array<{
    messageId: string;
    receiveCount: number;
    body: { kind: string; reason?: string; preview?: string };
    objects: Array<{
      key: string;
      jobId: string;
      tenantId?: string;
      job: { status: string; error: { code: string } | null } | null;
    }>;
  }>;
};
const OPS_TOKEN = "ops-token-0123456789abcdef";
const READ_TOKEN = "read-token-0123456789abcdef";

describe("dead-letter queue: peek, filtered redrive, junk reported", () => {
  let t: ApiTestStack;
  const jobs: Record<string, string> = {};
  const logLines: string[] = [];

  before(async () => {
    t = await startApiTestStack({
      noWorker: true,
      apiEnv: { API_TOKENS: `ops:operate:${OPS_TOKEN},grafana:read:${READ_TOKEN}` },
      apiLogLines: logLines,
    });
    // Three uploads whose jobs failed for good, their messages in the DLQ as the redrive policy leaves them, and one junk body.
    for (const [name, tenant, code] of [
      ["acme-1", "acme", "s3-unavailable"],
      ["acme-2", "acme", "timeout"],
      ["globex-1", "globex", "s3-unavailable"],
    ] as const) {
      const source: JobSource = {
        bucket: t.stack.bucket,
        key: `tenants/${tenant}/users/u1/media/${name}.png`,
        eTag: `etag-${name}`,
      };
      const id = jobIdFor(source);
      jobs[name] = id;
      await t.stack.store.enqueue({ id, source, tenantId: tenant, userId: "u1", via: "test" });
      await t.stack.store.failQueued(id, {
        category: "transient",
        code,
        message: `${code} on the last receive`,
        retryable: true,
      });
      await t.stack.sqs.send(
        new SendMessageCommand({ QueueUrl: t.config.queue.dlqUrl, MessageBody: buildS3Notification([source]) }),
      );
    }
    await t.stack.sqs.send(
      new SendMessageCommand({ QueueUrl: t.config.queue.dlqUrl, MessageBody: '{"hello":"not an S3 event"}' }),
    );
  });
  after(async () => {
    await t.stop();
  });

  test("a peek shows every message with its keys and last errors, and consumes none", async () => {
    const peek = await t.call<Peek>("GET", "/api/media/dlq/messages?limit=20", {
      authorization: `Bearer ${READ_TOKEN}`,
    });
    assert.equal(peek.status, 200);
    assert.equal(peek.body.complete, true);
    assert.equal(peek.body.messages.length, 4);
    const byKey = new Map(
      peek.body.messages.flatMap((message) => message.objects.map((object) => [object.key, object] as const)),
    );
    assert.deepEqual(byKey.get("tenants/acme/users/u1/media/acme-2.png")?.job, {
      status: "failed",
      attempts: 0,
      error: { category: "transient", code: "timeout", message: "timeout on the last receive", retryable: true },
    });
    assert.equal(byKey.get("tenants/globex/users/u1/media/globex-1.png")?.tenantId, "globex");
    const junk = peek.body.messages.find((message) => message.body.kind === "not-an-event");
    assert.deepEqual(
      [junk?.body.reason, junk?.body.preview, junk?.objects],
      ["unknown-shape", '{"hello":"not an S3 event"}', []],
    );
    assert.deepEqual(
      await t.stack.queueDepth("dlq"),
      { visible: 4, inFlight: 0, delayed: 0 },
      "released at once, nothing consumed",
    );
    const again = await t.call<Peek>("GET", "/api/media/dlq/messages?limit=2");
    assert.deepEqual([again.body.messages.length, again.body.complete], [2, false]);
    assert.equal((await t.stack.queueDepth("dlq")).visible, 4);
  });

  test("a redrive filtered by tenant and error code moves only the matching message and requeues its job", async () => {
    const started = await t.call<{ action: { id: string } }>("POST", "/api/media/dlq/redrive", {
      body: { filter: { tenant: "acme", errorCode: "s3-unavailable" } },
      authorization: `Bearer ${OPS_TOKEN}`,
    });
    assert.equal(started.status, 202);
    const action = await t.waitForAction(started.body.action.id);
    assert.deepEqual(
      [action.state, action.by, action.progress.moved, action.progress.skipped, action.progress.notEvents],
      ["done", "ops", 1, 3, []],
    );
    assert.deepEqual(
      action.progress.jobs?.map((job) => [job.id, job.requeued, job.status]),
      [[jobs["acme-1"], true, "queued"]],
    );
    assert.deepEqual(await t.stack.queueDepth("dlq"), { visible: 3, inFlight: 0, delayed: 0 });
    assert.equal((await t.stack.queueDepth("media")).visible, 1);
    const requeued = await t.call<JobRecord>("GET", `/api/media/jobs/${jobs["acme-1"]}`);
    assert.deepEqual(requeued.body.timeline.find((entry) => entry.event === "retry-requested")?.detail, {
      by: "ops",
      via: "dlq-redrive",
      dlqMessageId: requeued.body.timeline.find((entry) => entry.event === "retry-requested")?.detail?.dlqMessageId,
    });
    assert.ok(
      logLines.some((line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return entry.audit === true && entry.action === "dlq-redrive" && entry.by === "ops";
      }),
      "an audit line names the token id",
    );
    assert.ok(
      logLines.every((line) => !line.includes(OPS_TOKEN)),
      "never the token itself",
    );
  });

  test("a redrive of all moves the events and reports the junk body, leaving it; dropping it needs an admin token", async () => {
    const readOnly = await t.call<{ code: string }>("POST", "/api/media/dlq/redrive", {
      body: {},
      authorization: `Bearer ${READ_TOKEN}`,
    });
    assert.deepEqual([readOnly.status, readOnly.body.code], [403, "insufficient-scope"]);
    const started = await t.call<{ action: { id: string } }>("POST", "/api/media/dlq/redrive", {
      body: {},
      authorization: `Bearer ${OPS_TOKEN}`,
    });
    const action = await t.waitForAction(started.body.action.id);
    assert.equal(action.progress.moved, 2);
    assert.deepEqual(action.progress.notEvents, [
      {
        messageId: (action.progress.notEvents as Array<{ messageId: string }>)[0]?.messageId,
        reason: "unknown-shape",
        preview: '{"hello":"not an S3 event"}',
        dropped: false,
      },
    ]);
    assert.equal((await t.stack.queueDepth("dlq")).visible, 1, "the junk body is still there, not moved silently");

    const refused = await t.call<{ code: string }>("POST", "/api/media/dlq/redrive", {
      body: { dropNonEvents: true },
      authorization: `Bearer ${OPS_TOKEN}`,
    });
    assert.deepEqual([refused.status, refused.body.code], [403, "insufficient-scope"]);
    const dropping = await t.call<{ action: { id: string } }>("POST", "/api/media/dlq/redrive", {
      body: { dropNonEvents: true },
    });
    const dropped = await t.waitForAction(dropping.body.action.id);
    assert.deepEqual(
      [
        dropped.progress.moved,
        (dropped.progress.notEvents as Array<{ dropped: boolean }>).map((entry) => entry.dropped),
      ],
      [0, [true]],
    );
    assert.deepEqual(await t.stack.queueDepth("dlq"), { visible: 0, inFlight: 0, delayed: 0 });
    const listed = await t.call<{ actions: Array<{ id: string; kind: string }> }>("GET", "/api/media/actions");
    assert.deepEqual(
      listed.body.actions.slice(0, 3).map((entry) => entry.id),
      [dropping.body.action.id, started.body.action.id, listed.body.actions[2]!.id],
    );
  });
});
