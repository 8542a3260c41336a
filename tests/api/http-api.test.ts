import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor, type JobRecord } from "../../src/jobs/job.model.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";

/**
 * The API over HTTP against real Redis and the emulator, with no worker: jobs stay where the
 * API puts them, so listing, pagination, cancel-while-queued and retry races are deterministic.
 * Every response is checked against the OpenAPI document by the harness.
 */
type JobList = { jobs: JobRecord[]; nextCursor: string | null };
type Enqueued = {
  messageId: string;
  jobs: Array<{ id: string; status: string; created: boolean; key: string }>;
  dropped: Array<{ reason: string }>;
};
type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  errors?: Array<{ field?: string }>;
};

describe("job API over HTTP (no worker)", () => {
  let t: ApiTestStack;
  let counter = 0;
  /** Enqueues one S3 event through the API and returns its job id. */
  const enqueue = async (key: string): Promise<string> => {
    counter += 1;
    const response = await t.call<Enqueued>("POST", "/api/media/process-s3-event", {
      body: JSON.parse(buildS3Notification([{ bucket: t.stack.bucket, key, eTag: `etag${counter}` }])),
    });
    assert.equal(response.status, 202, response.text);
    return response.body.jobs[0]!.id;
  };

  before(async () => {
    t = await startApiTestStack({ noWorker: true, env: { MAX_INPUT_BYTES: "1000000" } });
  });
  after(async () => {
    await t.stop();
  });

  describe("auth, errors and headers", () => {
    test("everything under /api refuses a missing or wrong token with 401 problem+json and a Bearer challenge", async () => {
      for (const [method, path] of [
        ["GET", "/api/media/jobs"],
        ["GET", "/api/openapi.json"],
        ["GET", "/api/media/jobs/stats"],
        ["DELETE", "/api/media/jobs/0123456789abcdef01234567"],
        ["POST", "/api/media/dlq/redrive"],
        ["GET", "/api/no-such-route"],
      ] as const) {
        const missing = await t.call<Problem>(method, path, { authorization: null });
        assert.equal(missing.status, 401, `${method} ${path}`);
        assert.equal(missing.headers.get("content-type"), "application/problem+json; charset=utf-8");
        assert.equal(missing.body.code, "missing-token");
        assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer realm="media-processor"/);
        for (const wrong of [
          `Bearer ${TEST_TOKEN}x`,
          `Bearer ${TEST_TOKEN.slice(0, -1)}`,
          `Basic ${Buffer.from(`u:${TEST_TOKEN}`).toString("base64")}`,
          TEST_TOKEN,
          "Bearer ",
        ]) {
          const refused = await t.call<Problem>(method, path, { authorization: wrong });
          assert.equal(refused.status, 401, `${method} ${path} with ${wrong}`);
          assert.equal(refused.body.code, "invalid-token");
        }
      }
      const lowerCaseScheme = await t.call("GET", "/api/media/jobs", { authorization: `bearer ${TEST_TOKEN}` });
      assert.equal(lowerCaseScheme.status, 200, "the scheme is case-insensitive (RFC 7235)");
    });

    test("probes, metrics and the dashboard need no token; the API sets security headers everywhere", async () => {
      const health = await t.call<{ status: string }>("GET", "/healthz", { authorization: null });
      assert.deepEqual([health.status, health.body.status], [200, "ok"]);
      const ready = await t.call<{ status: string; checks: Record<string, boolean> }>("GET", "/readyz", {
        authorization: null,
      });
      assert.deepEqual(ready.body, { status: "ready", checks: { redis: true, sqs: true } });
      const metrics = await t.call("GET", "/metrics", { authorization: null });
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /^process_cpu_user_seconds_total /m);
      const page = await t.call("GET", "/", { authorization: null });
      assert.equal(page.status, 200);
      assert.match(page.text, /<script src="\/dashboard\/dashboard.js" defer><\/script>/);
      for (const response of [page, health, await t.call("GET", "/api/media/jobs")]) {
        const csp = response.headers.get("content-security-policy") ?? "";
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /script-src 'self'/);
        assert.match(csp, /frame-ancestors 'none'/);
        assert.ok(csp.includes(`img-src 'self' data: ${new URL(t.config.aws.endpointUrl!).origin}`), csp);
        assert.equal(response.headers.get("x-content-type-options"), "nosniff");
        assert.equal(response.headers.get("x-frame-options"), "DENY");
        assert.equal(response.headers.get("referrer-policy"), "no-referrer");
        assert.equal(response.headers.get("x-powered-by"), null);
      }
      assert.equal((await t.call("GET", "/api/media/jobs")).headers.get("cache-control"), "no-store");
    });

    test("the OpenAPI 3.1 document is served and names every route the app answers", async () => {
      const doc = await t.call<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
        "GET",
        "/api/openapi.json",
      );
      assert.equal(doc.status, 200);
      assert.equal(doc.body.openapi, "3.1.0");
      const operations = Object.entries(doc.body.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => key !== "parameters")
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      assert.deepEqual(operations.sort(), [
        "DELETE /api/media/item",
        "DELETE /api/media/jobs/{id}",
        "GET /",
        "GET /api/media/actions",
        "GET /api/media/actions/{id}",
        "GET /api/media/dlq/messages",
        "GET /api/media/item",
        "GET /api/media/item/output",
        "GET /api/media/item/playback",
        "GET /api/media/item/stream",
        "GET /api/media/items",
        "GET /api/media/jobs",
        "GET /api/media/jobs/stats",
        "GET /api/media/jobs/{id}",
        "GET /api/media/jobs/{id}/hls",
        "GET /api/media/jobs/{id}/outputs",
        "GET /api/media/queues",
        "GET /api/media/webhooks/deliveries",
        "GET /api/media/webhooks/deliveries/{id}",
        "GET /api/media/workers",
        "GET /api/openapi.json",
        "GET /dashboard/dashboard.css",
        "GET /dashboard/dashboard.js",
        "GET /dashboard/vendor/hls.light.min.js",
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "POST /api/media/dlq/redrive",
        "POST /api/media/jobs/bulk",
        "POST /api/media/jobs/{id}",
        "POST /api/media/jobs/{id}/retry",
        "POST /api/media/process-s3-event",
        "POST /api/media/uploads",
        "POST /api/media/uploads/confirm",
        "POST /api/media/uploads/multipart",
        "POST /api/media/uploads/multipart/abort",
        "POST /api/media/uploads/multipart/complete",
        "POST /api/media/uploads/multipart/parts",
        "POST /api/media/webhooks/deliveries/{id}/replay",
      ]);
      for (const [path, item] of Object.entries(doc.body.paths).filter(([path]) => path.startsWith("/api/"))) {
        for (const [method, operation] of Object.entries(item).filter(([key]) => key !== "parameters")) {
          assert.match(
            String((operation as Record<string, unknown>)["x-required-scope"]),
            /^(read|operate|admin)$/,
            `${method} ${path} names its scope`,
          );
        }
      }
    });

    test("unknown routes are 404 and known paths with another method 405 with Allow, as problems", async () => {
      const missing = await t.call<Problem>("GET", "/api/media/nothing");
      assert.equal(missing.status, 404);
      assert.equal(missing.body.type, "urn:media-processor:problem:not-found");
      const wrongMethod = await t.call<Problem>("PUT", "/api/media/jobs/stats");
      assert.equal(wrongMethod.status, 405);
      const postStats = await t.call<Problem>("POST", "/api/media/jobs/stats");
      assert.equal(postStats.status, 405, "not taken for a retry of a job named 'stats'");
      assert.equal(wrongMethod.headers.get("allow"), "GET, HEAD");
      assert.equal(wrongMethod.body.code, "method-not-allowed");
      const options = await t.call("OPTIONS", "/api/media/jobs/0123456789abcdef01234567");
      assert.equal(options.status, 204);
      assert.equal(options.headers.get("allow"), "GET, POST, DELETE, HEAD");
      const statsOptions = await t.call("OPTIONS", "/api/media/jobs/stats");
      assert.equal(statsOptions.headers.get("allow"), "GET, HEAD", "only the stats route's own methods");
      const bulkPut = await t.call<Problem>("PUT", "/api/media/jobs/bulk");
      assert.deepEqual(
        [bulkPut.status, bulkPut.headers.get("allow")],
        [405, "POST"],
        "the bulk route's own methods, not those of /jobs/{id}",
      );
    });

    test("invalid parameters are 400 problems naming the field, never a stack trace", async () => {
      const cases: Array<[string, string]> = [
        ["/api/media/jobs/NOT-AN-ID", "id"],
        ["/api/media/jobs?status=done", "status"],
        ["/api/media/jobs?limit=0", "limit"],
        ["/api/media/jobs?limit=201", "limit"],
        ["/api/media/jobs?limit=1e3", "limit"],
        ["/api/media/jobs?since=yesterday", "since"],
        ["/api/media/jobs?cursor=bm90LWEtY3Vyc29y", "cursor"],
        ["/api/media/jobs?cursor=1700000000000-XYZ", "cursor"],
        ["/api/media/jobs?status=queued&status=failed", "status"],
        ["/api/media/jobs/stats?windowMinutes=99999", "windowMinutes"],
        ["/api/media/jobs/0123456789abcdef01234567/retry?force=yes", "force"],
        // Unknown and array-style filters were once ignored, answering the unfiltered list.
        ["/api/media/jobs?status[]=failed", "status[]"],
        ["/api/media/jobs?tenantt=acme", "tenantt"],
        ["/api/media/jobs?key=a&keyPrefix=b", "keyPrefix"],
        ["/api/media/jobs?cursor=kAAAA", "cursor"],
        ["/api/media/jobs/stats?window=5", "window"],
      ];
      for (const [path, field] of cases) {
        const method = path.includes("/retry") ? "POST" : "GET";
        const response = await t.call<Problem>(method, path);
        assert.equal(response.status, 400, path);
        assert.equal(response.body.code, "invalid-request");
        assert.ok(
          response.body.errors?.some((error) => error.field === field),
          `${path}: ${response.text}`,
        );
        assert.doesNotMatch(response.text, /at .*\.ts:\d+|node_modules/);
      }
      for (const path of ["/api/media/jobs/%E0%A4%A", "/api/media/jobs/%E0%A4%A/outputs", "/api/media/actions/%ZZ"]) {
        const broken = await t.call<Problem>("GET", path, { operation: "-" });
        assert.deepEqual(
          [broken.status, broken.body.code],
          [400, "invalid-request"],
          `${path}: broken percent-encoding is the client's error, not a 500`,
        );
      }
      const inverted = await t.call<JobList>(
        "GET",
        "/api/media/jobs?since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z",
      );
      assert.deepEqual([inverted.status, inverted.body.jobs], [200, []], "an empty window, not an error");
    });

    test("bodies: non-JSON is 415, malformed JSON 400, over API_BODY_LIMIT_BYTES 413, non-events 400, nothing to process 422", async () => {
      const text = await t.call<Problem>("POST", "/api/media/process-s3-event", {
        rawBody: "hello",
        contentType: "text/plain",
      });
      assert.deepEqual([text.status, text.body.code], [415, "unsupported-media-type"]);
      const broken = await t.call<Problem>("POST", "/api/media/process-s3-event", { rawBody: '{"Records": [' });
      assert.deepEqual([broken.status, broken.body.code], [400, "invalid-json"]);
      assert.doesNotMatch(broken.text, /Unexpected|position/, "no parser internals");
      const huge = await t.call<Problem>("POST", "/api/media/process-s3-event", {
        body: { Records: [{ pad: "x".repeat(t.config.api.bodyLimitBytes) }] },
      });
      assert.deepEqual([huge.status, huge.body.code], [413, "body-too-large"]);
      const notAnEvent = await t.call<Problem>("POST", "/api/media/process-s3-event", { body: { hello: "world" } });
      assert.deepEqual([notAnEvent.status, notAnEvent.body.code], [400, "invalid-request"]);
      const testEvent = await t.call<Problem & { dropped: Array<{ reason: string }> }>(
        "POST",
        "/api/media/process-s3-event",
        { body: { Event: "s3:TestEvent" } },
      );
      assert.equal(testEvent.status, 422);
      assert.deepEqual(
        testEvent.body.dropped.map((drop) => drop.reason),
        ["test-event"],
      );
      const outputsAndStrangers = JSON.parse(
        buildS3Notification([
          { bucket: t.stack.bucket, key: "a/processed/x.jpg.0123abcd_thumb.webp" },
          { bucket: "someone-elses", key: "a/b.jpg" },
          { bucket: t.stack.bucket, key: "a/../etc/passwd" },
        ]),
      );
      const dropped = await t.call<Problem & { dropped: Array<{ reason: string }> }>(
        "POST",
        "/api/media/process-s3-event",
        { body: outputsAndStrangers },
      );
      assert.equal(dropped.status, 422);
      assert.deepEqual(
        dropped.body.dropped.map((drop) => drop.reason),
        ["output-key", "foreign-bucket", "unsafe-key"],
      );
      assert.deepEqual(
        await t.stack.queueDepth(),
        { visible: 0, inFlight: 0, delayed: 0 },
        "nothing refused reached the queue",
      );
    });
  });

  describe("enqueue, list, inspect", () => {
    test("process-s3-event accepts S3, SNS-wrapped and EventBridge bodies, queues one message each and returns the worker's job ids", async () => {
      const before = (await t.stack.queueDepth()).visible;
      const direct = JSON.parse(
        buildS3Notification([{ bucket: t.stack.bucket, key: "tenants/t9/users/u9/media/a b+c.jpg", eTag: "e1" }]),
      );
      const sns = {
        Type: "Notification",
        Message: buildS3Notification([{ bucket: t.stack.bucket, key: "sns/x.png", eTag: "e2" }]),
      };
      const eventBridge = {
        source: "aws.s3",
        "detail-type": "Object Created",
        detail: { bucket: { name: t.stack.bucket }, object: { key: "eb/y.pdf", etag: "e3", size: 10 } },
      };
      const ids: string[] = [];
      for (const body of [direct, sns, eventBridge]) {
        const response = await t.call<Enqueued>("POST", "/api/media/process-s3-event", { body });
        assert.equal(response.status, 202, response.text);
        assert.equal(response.body.jobs.length, 1);
        assert.equal(response.body.jobs[0]!.status, "queued");
        assert.equal(response.body.jobs[0]!.created, true);
        ids.push(response.body.jobs[0]!.id);
      }
      // The same ids the worker derives (bucket + decoded key + ETag), so API and worker agree.
      assert.deepEqual(ids, [
        jobIdFor({ bucket: t.stack.bucket, key: "tenants/t9/users/u9/media/a b+c.jpg", eTag: "e1" }),
        jobIdFor({ bucket: t.stack.bucket, key: "sns/x.png", eTag: "e2" }),
        jobIdFor({ bucket: t.stack.bucket, key: "eb/y.pdf", eTag: "e3" }),
      ]);
      assert.equal((await t.stack.queueDepth()).visible, before + 3);
      const job = await t.call<JobRecord>("GET", `/api/media/jobs/${ids[0]}`);
      assert.equal(job.body.status, "queued");
      assert.equal(job.body.tenantId, "t9");
      assert.equal(job.body.userId, "u9");
      assert.equal(job.body.attempts, 0);
      assert.deepEqual(
        job.body.timeline.map((entry) => [entry.event, entry.detail]),
        [["queued", { via: "api", by: "api-token" }]],
      );
      const outputs = await t.call<{ outputs: unknown[]; manifest: unknown }>(
        "GET",
        `/api/media/jobs/${ids[0]}/outputs`,
      );
      assert.deepEqual(
        [outputs.status, outputs.body.outputs, outputs.body.manifest],
        [200, [], null],
        "no outputs before the job completed",
      );
      const again = await t.call<Enqueued>("POST", "/api/media/process-s3-event", { body: direct });
      assert.equal(again.body.jobs[0]!.created, false, "a second event for the same upload is the same job");
    });

    test("list filters by status, type, tenant and created time, newest first", async () => {
      const first = await enqueue("tenants/alpha/users/u/media/1.jpg");
      const second = await enqueue("tenants/beta/users/u/media/2.jpg");
      const third = await enqueue("tenants/alpha/users/u/media/3.jpg");
      const alpha = await t.call<JobList>("GET", "/api/media/jobs?tenant=alpha");
      assert.deepEqual(
        alpha.body.jobs.map((job) => job.id),
        [third, first],
      );
      assert.equal(alpha.body.nextCursor, null);
      assert.equal("timeline" in alpha.body.jobs[0]!, false, "listed jobs carry no timeline");
      assert.equal((await t.call("DELETE", `/api/media/jobs/${first}`)).status, 200);
      const cancelledAlpha = await t.call<JobList>("GET", "/api/media/jobs?tenant=alpha&status=cancelled");
      assert.deepEqual(
        cancelledAlpha.body.jobs.map((job) => job.id),
        [first],
      );
      const queuedPending = await t.call<JobList>("GET", "/api/media/jobs?status=queued&type=pending&limit=200");
      assert.ok(
        queuedPending.body.jobs.some((job) => job.id === second) &&
          !queuedPending.body.jobs.some((job) => job.id === first),
      );
      assert.equal((await t.call<JobList>("GET", "/api/media/jobs?type=video")).body.jobs.length, 0);
      const created = Date.parse((await t.call<JobRecord>("GET", `/api/media/jobs/${second}`)).body.createdAt);
      const exact = await t.call<JobList>(
        "GET",
        `/api/media/jobs?tenant=beta&since=${new Date(created).toISOString()}&until=${new Date(created).toISOString()}`,
      );
      assert.deepEqual(
        exact.body.jobs.map((job) => job.id),
        [second],
      );
      const later = await t.call<JobList>(
        "GET",
        `/api/media/jobs?tenant=beta&since=${new Date(created + 1).toISOString()}`,
      );
      assert.deepEqual(later.body.jobs, []);
    });

    test("cursor pages stay stable while jobs are being added: no job twice, none skipped", async () => {
      const tenant = "paging";
      const original: string[] = [];
      for (let i = 0; i < 23; i++) original.push(await enqueue(`tenants/${tenant}/users/u/media/${i}.jpg`));
      const seen: string[] = [];
      let cursor: string | null = null;
      let added = 0;
      do {
        const page: { body: JobList } = await t.call<JobList>(
          "GET",
          `/api/media/jobs?tenant=${tenant}&limit=5${cursor ? `&cursor=${cursor}` : ""}`,
        );
        assert.ok(page.body.jobs.length <= 5);
        seen.push(...page.body.jobs.map((job) => job.id));
        cursor = page.body.nextCursor;
        // Newer jobs arrive between page reads; they belong before the first page, never inside later ones.
        for (let i = 0; i < 3; i++) await enqueue(`tenants/${tenant}/users/u/media/new-${added++}.jpg`);
      } while (cursor);
      assert.deepEqual(seen, [...original].reverse());
      const everything = await t.call<JobList>("GET", `/api/media/jobs?tenant=${tenant}&limit=200`);
      assert.equal(everything.body.jobs.length, 23 + added);
      const times = everything.body.jobs.map((job) => Date.parse(job.createdAt));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        "newest first",
      );
    });
  });

  describe("retry and cancel without a worker", () => {
    test("cancel: a queued job is cancelled at once; cancelling it again, or a missing job, is refused", async () => {
      const id = await enqueue("cancel/queued.jpg");
      const cancelled = await t.call<{ job: JobRecord; outcome: string }>("DELETE", `/api/media/jobs/${id}`);
      assert.equal(cancelled.status, 200);
      assert.equal(cancelled.body.outcome, "cancelled");
      assert.equal(cancelled.body.job.status, "cancelled");
      assert.equal(cancelled.body.job.error?.category, "cancelled");
      assert.deepEqual(
        cancelled.body.job.timeline.map((entry) => entry.event),
        ["queued", "cancelled"],
      );
      const twice = await t.call<Problem & { jobStatus: string }>("DELETE", `/api/media/jobs/${id}`);
      assert.deepEqual([twice.status, twice.body.code, twice.body.jobStatus], [409, "job-finished", "cancelled"]);
      assert.equal((await t.call("DELETE", "/api/media/jobs/ffffffffffffffffffffffff")).status, 404);
    });

    test("retry: a queued job is a 409, a missing one 404; a cancelled one is requeued and its source event sent again", async () => {
      const id = await enqueue("retry/r.jpg");
      const queued = await t.call<Problem & { jobStatus: string }>("POST", `/api/media/jobs/${id}/retry`);
      assert.deepEqual([queued.status, queued.body.code, queued.body.jobStatus], [409, "job-not-retryable", "queued"]);
      assert.equal((await t.call("POST", "/api/media/jobs/ffffffffffffffffffffffff/retry")).status, 404);
      await t.call("DELETE", `/api/media/jobs/${id}`);
      const depthBefore = (await t.stack.queueDepth()).visible;
      // The seed's path (POST /jobs/:id) is the same retry.
      const retried = await t.call<{ job: JobRecord; messageId: string }>("POST", `/api/media/jobs/${id}`);
      assert.equal(retried.status, 202, retried.text);
      assert.equal(retried.body.job.status, "queued");
      assert.equal(retried.body.job.error, undefined);
      assert.equal(retried.body.job.cancelRequested, undefined, "the old cancel request is cleared");
      assert.deepEqual(
        retried.body.job.timeline.map((entry) => entry.event),
        ["queued", "cancelled", "retry-requested", "retry-enqueued"],
      );
      assert.equal((await t.stack.queueDepth()).visible, depthBefore + 1);
    });

    test("two retries racing on one cancelled job: exactly one requeues and sends, the other is a 409", async () => {
      const id = await enqueue("retry/race.jpg");
      await t.call("DELETE", `/api/media/jobs/${id}`);
      const depthBefore = (await t.stack.queueDepth()).visible;
      const answers = await Promise.all([
        t.call("POST", `/api/media/jobs/${id}/retry`),
        t.call("POST", `/api/media/jobs/${id}/retry`),
        t.call("POST", `/api/media/jobs/${id}`),
      ]);
      assert.deepEqual(answers.map((answer) => answer.status).sort(), [202, 409, 409]);
      assert.equal((await t.stack.queueDepth()).visible, depthBefore + 1, "one message, not three");
      const job = await t.call<JobRecord>("GET", `/api/media/jobs/${id}`);
      assert.equal(job.body.timeline.filter((entry) => entry.event === "retry-requested").length, 1);
    });

    test("redrive with an empty DLQ moves nothing; a body that is not the documented shape is a 400", async () => {
      const started = await t.call<{ action: { id: string; state: string } }>("POST", "/api/media/dlq/redrive");
      assert.equal(started.status, 202);
      assert.equal(started.headers.get("location"), `/api/media/actions/${started.body.action.id}`);
      const empty = await t.waitForAction(started.body.action.id);
      assert.deepEqual(
        [empty.state, empty.progress.moved, empty.progress.jobs, empty.progress.complete],
        ["done", 0, [], true],
      );
      const bad = await t.call<Problem>("POST", "/api/media/dlq/redrive", { body: { maxMessages: 0 } });
      assert.equal(bad.status, 400);
      const unknown = await t.call<Problem>("POST", "/api/media/dlq/redrive", { body: { all: true } });
      assert.equal(unknown.status, 400);
    });
  });
});
