import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";

/**
 * Scoped tokens and the audit trail, no worker: a read token reads and changes nothing; an
 * operate token retries and cancels; a tenant-limited token sees and changes only its tenant's
 * jobs (others are 404, so ids cannot be probed) and none of the fleet views; every change
 * names the token id on the job's timeline and in a structured log line, never the token. Bulk
 * actions cancel or retry everything a filter matches, within the token's tenant.
 */
type JobList = { jobs: JobRecord[]; nextCursor: string | null };
type Problem = { code: string; status: number };
const READ = "read-token-0123456789abcdef";
const OPS = "ops-token-0123456789abcdef";
const ACME = "acme-token-0123456789abcdef";
const as = (token: string) => ({ authorization: `Bearer ${token}` });

describe("scoped tokens, tenant limits, audit, bulk actions", () => {
  let t: ApiTestStack;
  const logLines: string[] = [];
  const ids: Record<string, string> = {};
  let counter = 0;
  const enqueue = async (name: string, tenant: string, token = OPS): Promise<string> => {
    counter += 1;
    const body = JSON.parse(
      buildS3Notification([
        { bucket: t.stack.bucket, key: `tenants/${tenant}/users/u1/media/${name}.png`, eTag: `etag${counter}` },
      ]),
    );
    const response = await t.call<{ jobs: Array<{ id: string }> }>("POST", "/api/media/process-s3-event", {
      body,
      ...as(token),
    });
    assert.equal(response.status, 202, response.text);
    return response.body.jobs[0]!.id;
  };

  before(async () => {
    t = await startApiTestStack({
      noWorker: true,
      apiEnv: { API_TOKENS: `grafana:read:${READ},ops:operate:${OPS},acme-portal:operate@acme:${ACME}` },
      apiLogLines: logLines,
    });
    for (const name of ["a1", "a2", "a3"]) ids[name] = await enqueue(name, "acme");
    for (const name of ["g1", "g2"]) ids[name] = await enqueue(name, "globex");
  });
  after(async () => {
    await t.stop();
  });

  test("a read token reads everything and changes nothing (403 insufficient-scope with the scope it needs)", async () => {
    assert.equal((await t.call<JobList>("GET", "/api/media/jobs", as(READ))).body.jobs.length, 5);
    assert.equal((await t.call("GET", "/api/media/jobs/stats", as(READ))).status, 200);
    for (const [method, path, body] of [
      ["DELETE", `/api/media/jobs/${ids.a1}`, undefined],
      ["POST", `/api/media/jobs/${ids.a1}/retry`, undefined],
      [
        "POST",
        "/api/media/process-s3-event",
        JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key: "x/y.png", eTag: "e" }])),
      ],
      ["POST", "/api/media/jobs/bulk", { action: "cancel", filter: {} }],
    ] as const) {
      const refused = await t.call<Problem & { requiredScope: string }>(method, path, {
        ...as(READ),
        ...(body ? { body } : {}),
      });
      assert.deepEqual(
        [refused.status, refused.body.code, refused.body.requiredScope],
        [403, "insufficient-scope", "operate"],
        `${method} ${path}`,
      );
      assert.match(refused.headers.get("www-authenticate") ?? "", /error="insufficient_scope", scope="operate"/);
    }
    assert.equal((await t.stack.store.get(ids.a1!))?.status, "queued");
  });

  test("a tenant-limited token sees only its tenant: other jobs are 404, other filters and fleet views 403", async () => {
    const listed = await t.call<JobList>("GET", "/api/media/jobs", as(ACME));
    assert.deepEqual(
      listed.body.jobs.map((job) => job.tenantId),
      ["acme", "acme", "acme"],
    );
    const searched = await t.call<JobList>("GET", `/api/media/jobs?keyPrefix=tenants/`, as(ACME));
    assert.deepEqual(
      searched.body.jobs.map((job) => job.tenantId),
      ["acme", "acme", "acme"],
      "key search is limited too",
    );
    assert.equal(
      (await t.call<Problem>("GET", "/api/media/jobs?tenant=globex", as(ACME))).body.code,
      "tenant-scoped-token",
    );
    assert.equal((await t.call("GET", `/api/media/jobs/${ids.g1}`, as(ACME))).status, 404);
    assert.equal((await t.call("GET", `/api/media/jobs/${ids.a1}`, as(ACME))).status, 200);
    assert.equal((await t.call("DELETE", `/api/media/jobs/${ids.g1}`, as(ACME))).status, 404);
    assert.equal((await t.stack.store.get(ids.g1!))?.status, "queued", "another tenant's job is untouched");
    for (const path of [
      "/api/media/jobs/stats",
      "/api/media/queues",
      "/api/media/workers",
      "/api/media/dlq/messages",
    ]) {
      assert.equal((await t.call<Problem>("GET", path, as(ACME))).body.code, "tenant-scoped-token", path);
    }
    const foreign = await t.call<Problem>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(
        buildS3Notification([{ bucket: t.stack.bucket, key: "tenants/globex/users/u1/media/x.png", eTag: "e9" }]),
      ),
      ...as(ACME),
    });
    assert.deepEqual([foreign.status, foreign.body.code], [403, "tenant-scoped-token"]);
  });

  test("every change records the token id on the timeline and in one audit log line, never the token", async () => {
    const cancelled = await t.call<{ job: JobRecord }>("DELETE", `/api/media/jobs/${ids.a1}`, as(ACME));
    assert.equal(cancelled.status, 200);
    assert.deepEqual(cancelled.body.job.timeline.at(-1)?.detail, {
      by: "acme-portal",
      via: "api",
      reason: "cancel requested while queued",
    });
    const retried = await t.call<{ job: JobRecord }>("POST", `/api/media/jobs/${ids.a1}/retry`, as(OPS));
    assert.equal(retried.status, 202);
    assert.deepEqual(retried.body.job.timeline.find((entry) => entry.event === "retry-requested")?.detail, {
      by: "ops",
      via: "api",
      previousStatus: "cancelled",
    });
    const audit = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.audit === true && entry.jobId === ids.a1);
    assert.deepEqual(
      audit.map((entry) => [entry.action, entry.by, entry.scope, entry.tenant]),
      [
        ["cancel", "acme-portal", "operate", "acme"],
        ["retry", "ops", "operate", undefined],
      ],
    );
    for (const secret of [READ, OPS, ACME]) assert.ok(logLines.every((line) => !line.includes(secret)));
  });

  test("bulk cancel of everything queued, by a tenant token, cancels only its tenant's jobs, as a background action", async () => {
    const started = await t.call<{ action: { id: string; kind: string } }>("POST", "/api/media/jobs/bulk", {
      body: { action: "cancel", filter: { status: "queued" } },
      ...as(ACME),
    });
    assert.equal(started.status, 202);
    const action = await t.waitForAction(started.body.action.id);
    assert.deepEqual(
      [action.kind, action.state, action.by, action.progress.done, action.progress.skipped, action.progress.failed],
      ["bulk-cancel", "done", "acme-portal", 3, 0, 0],
    );
    const acme = await t.call<JobList>("GET", "/api/media/jobs?tenant=acme", as(OPS));
    assert.deepEqual(
      acme.body.jobs.map((job) => job.status),
      ["cancelled", "cancelled", "cancelled"],
    );
    const globex = await t.call<JobList>("GET", "/api/media/jobs?tenant=globex", as(OPS));
    assert.deepEqual(
      globex.body.jobs.map((job) => job.status),
      ["queued", "queued"],
    );
    const timeline = (await t.stack.store.get(ids.a2!))?.timeline.at(-1);
    assert.deepEqual(timeline?.detail, { by: "acme-portal", via: "bulk", reason: "cancel requested while queued" });
    assert.equal(
      (await t.call("GET", `/api/media/actions/${started.body.action.id}`, as(ACME))).status,
      200,
      "its own action",
    );

    const retry = await t.call<{ action: { id: string } }>("POST", "/api/media/jobs/bulk", {
      body: { action: "retry", filter: { status: "cancelled", tenant: "acme" } },
      ...as(OPS),
    });
    const retried = await t.waitForAction(retry.body.action.id);
    assert.equal(retried.progress.done, 3);
    assert.equal(
      (await t.call("GET", `/api/media/actions/${retry.body.action.id}`, as(ACME))).status,
      404,
      "not its action",
    );
    assert.deepEqual(
      (await t.call<JobList>("GET", "/api/media/jobs?tenant=acme&status=queued", as(OPS))).body.jobs.length,
      3,
    );
  });
});
