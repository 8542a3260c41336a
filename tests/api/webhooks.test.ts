import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { backoffMs } from "../../src/webhooks/webhook-dispatcher.ts";
import { postOnce } from "../../src/webhooks/webhook-delivery.ts";
import { signatureHeader, verifySignature } from "../../src/webhooks/webhook-signature.ts";
import { guardedLookup, isNonPublicAddress, urlProblem } from "../../src/webhooks/webhook-target.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";
import { waitFor, waitForValue } from "../helpers/wait-for.ts";

/**
 * Signed webhooks: the signature a receiver verifies (README's helper), the SSRF rules, and a
 * receiver that is down while the job completes, then fails three times and succeeds: it gets
 * the event again with the same id and a valid signature, and a replay sends it once more.
 */
const SECRET = "whsec-0123456789abcdef";
const OLD_SECRET = "whsec-old-0123456789ab";

test("a signature made with the secret verifies; a forged, tampered or stale one does not", () => {
  const body = JSON.stringify({ eventId: "e1" });
  const now = 1_700_000_000;
  const header = signatureHeader([SECRET], body, now);
  assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
  assert.deepEqual(verifySignature({ header, body, secrets: [SECRET], nowSec: now + 10 }), {
    ok: true,
    timestampSec: now,
  });
  assert.deepEqual(verifySignature({ header, body, secrets: ["whsec-forged-0123456789"], nowSec: now }), {
    ok: false,
    reason: "mismatch",
  });
  assert.deepEqual(verifySignature({ header, body: body.replace("e1", "e2"), secrets: [SECRET], nowSec: now }), {
    ok: false,
    reason: "mismatch",
  });
  assert.deepEqual(verifySignature({ header, body, secrets: [SECRET], nowSec: now + 301 }), {
    ok: false,
    reason: "stale",
  });
  // A replayed capture with a new timestamp but the old signature:
  const forgedTime = header.replace("t=1700000000", `t=${now + 1000}`);
  assert.deepEqual(verifySignature({ header: forgedTime, body, secrets: [SECRET], nowSec: now + 1000 }), {
    ok: false,
    reason: "mismatch",
  });
  assert.deepEqual(verifySignature({ header: "v1=abc", body, secrets: [SECRET] }), { ok: false, reason: "malformed" });
  assert.deepEqual(verifySignature({ header: undefined, body, secrets: [SECRET] }), { ok: false, reason: "malformed" });
});

test("during a rotation both secrets sign, so a receiver holding either verifies", () => {
  const body = "{}";
  const header = signatureHeader([SECRET, OLD_SECRET], body, 100);
  assert.equal(header.split(",").length, 3);
  assert.equal(verifySignature({ header, body, secrets: [OLD_SECRET], nowSec: 100 }).ok, true);
  assert.equal(verifySignature({ header, body, secrets: [SECRET], nowSec: 100 }).ok, true);
});

test("loopback, private, link-local, metadata and mapped addresses are not public", () => {
  for (const address of [
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:a9fe:a9fe",
    "not-an-ip",
  ]) {
    assert.equal(isNonPublicAddress(address), true, address);
  }
  for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
    assert.equal(isNonPublicAddress(address), false, address);
});

test("webhook URLs: https only, no credentials, no non-public literal or name unless allowed", () => {
  const strict = { allowHttp: false, allowPrivate: false };
  assert.equal(urlProblem("https://hooks.example.com/media", strict), undefined);
  assert.match(urlProblem("http://hooks.example.com/media", strict)!, /only https/);
  assert.match(urlProblem("https://169.254.169.254/latest/meta-data/", strict)!, /not a public address/);
  assert.match(urlProblem("https://[::1]:8443/", strict)!, /not a public address/);
  assert.match(urlProblem("https://[::ffff:127.0.0.1]/", strict)!, /not a public address/);
  assert.match(urlProblem("https://localhost/", strict)!, /not a public name/);
  assert.match(urlProblem("https://metadata.google.internal/", strict)!, /not a public name/);
  assert.match(urlProblem("https://user:pw@hooks.example.com/", strict)!, /credentials/);
  assert.match(urlProblem("file:///etc/passwd", { allowHttp: true, allowPrivate: true })!, /only http and https/);
  assert.equal(urlProblem("http://127.0.0.1:9/", { allowHttp: true, allowPrivate: true }), undefined);
});

test("a name that resolves to a non-public address is refused at connect time (DNS rebinding)", async () => {
  const result = await new Promise<{ error: Error | null }>((resolve) =>
    guardedLookup({ allowHttp: true, allowPrivate: false })("localhost", {}, (error) => resolve({ error })),
  );
  assert.match(String(result.error?.message), /not a public address/);
  const allowed = await new Promise<{ error: Error | null; address: unknown }>((resolve) =>
    guardedLookup({ allowHttp: true, allowPrivate: true })("localhost", {}, (error, address) =>
      resolve({ error, address }),
    ),
  );
  assert.equal(allowed.error, null);
});

async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

test("a delivery refuses a private target and never follows a redirect", async () => {
  let reachedTarget = 0;
  const target = await listen((_request, response) => {
    reachedTarget += 1;
    response.end("ok");
  });
  const redirector = await listen((_request, response) => {
    response.writeHead(302, { location: `${target.url}/inside` });
    response.end();
  });
  try {
    const blocked = await postOnce(`${target.url}/hook`, "{}", {}, { allowHttp: true, allowPrivate: false }, 5_000);
    assert.equal(blocked.ok, false);
    assert.match(blocked.error, /refused target/);
    const redirected = await postOnce(
      `${redirector.url}/hook`,
      "{}",
      {},
      { allowHttp: true, allowPrivate: true },
      5_000,
    );
    assert.deepEqual(redirected, { ok: false, status: 302, error: "redirect (302) not followed" });
    assert.equal(reachedTarget, 0, "neither the blocked URL nor the redirect's target was requested");
  } finally {
    target.server.close();
    redirector.server.close();
  }
});

test("retries back off exponentially, capped at an hour", () => {
  const fixed = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4].map((failures) => backoffMs(failures, 30_000, fixed)),
    [30_000, 60_000, 120_000, 240_000],
  );
  assert.equal(backoffMs(20, 30_000, fixed), 3_600_000);
  // ~30 attempts at the cap fill the 24 h window: retried for at least a day.
});

describe("webhooks end to end", () => {
  let t: ApiTestStack;
  let receiver: { server: http.Server; url: string };
  const received: Array<{ eventId: string; signature: string; body: string; attempt: string }> = [];
  let failuresLeft = 3;
  let receiverUp = false;
  before(async () => {
    receiver = await listen((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        received.push({
          eventId: String(request.headers["media-event-id"]),
          signature: String(request.headers["media-signature"]),
          body,
          attempt: String(request.headers["media-delivery-attempt"]),
        });
        const fail = !receiverUp || failuresLeft > 0;
        if (fail && failuresLeft > 0) failuresLeft -= 1;
        response.writeHead(fail ? 503 : 204);
        response.end();
      });
    });
    t = await startApiTestStack({
      env: { WEBHOOKS_ENABLED: "true" },
      apiEnv: {
        WEBHOOKS_ENABLED: "true",
        WEBHOOK_ENDPOINTS: JSON.stringify([
          { id: "app", url: `${receiver.url}/hooks/media`, secrets: [SECRET, OLD_SECRET] },
        ]),
        WEBHOOK_ALLOW_HTTP: "true",
        WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
        WEBHOOK_RETRY_BASE: "20ms",
        WEBHOOK_POLL_INTERVAL: "20ms",
      },
    });
  });
  after(async () => {
    await t.stop();
    receiver.server.close();
  });

  test("a receiver down while the job completes, then failing three times, gets the event with the same id and a valid signature; a replay sends it again", async () => {
    const id = await t.stack.uploadAndNotify(
      "tenants/t1/users/u1/media/1700000000-abc-logo.png",
      await transparentPng(),
    );
    const job: JobRecord = await t.stack.waitForJob(id);
    assert.equal(job.status, "completed", "the job completes while its webhook receiver is down");
    await waitFor(() => received.length >= 1, "a first attempt is made", 100_000, 25);
    receiverUp = true;
    type Deliveries = { deliveries: Array<{ id: string; state: string; attempts: number; eventId: string }> };
    const delivered = (await waitForValue(
      async () =>
        (
          await t.call<Deliveries>("GET", "/api/media/webhooks/deliveries?state=delivered")
        ).body.deliveries[0],
      (delivery) => delivery !== undefined,
      "the delivery succeeds eventually",
      100_000,
      25,
    ))!;
    assert.ok(received.length >= 4, `${received.length} attempts`);
    assert.equal(new Set(received.map((entry) => entry.eventId)).size, 1, "every attempt carries the same event id");
    assert.equal(delivered.attempts, received.length);
    const last = received.at(-1)!;
    const event = JSON.parse(last.body) as { eventId: string; eventType: string; job: { id: string } };
    assert.equal(event.eventId, last.eventId);
    assert.equal(event.eventType, "media.job.completed");
    assert.equal(event.job.id, id);
    assert.equal(verifySignature({ header: last.signature, body: last.body, secrets: [SECRET] }).ok, true);
    assert.equal(
      verifySignature({ header: last.signature, body: last.body, secrets: [OLD_SECRET] }).ok,
      true,
      "the rotating-out secret signs too",
    );
    assert.equal(
      verifySignature({ header: last.signature, body: last.body, secrets: ["whsec-forged-0123456789"] }).ok,
      false,
    );

    const before = received.length;
    const replay = await t.call<{ delivery: { state: string } }>(
      "POST",
      `/api/media/webhooks/deliveries/${delivered.id}/replay`,
    );
    assert.equal(replay.status, 202);
    await waitFor(() => received.length > before, "the replay is delivered", 100_000, 25);
    assert.equal(received.at(-1)!.eventId, event.eventId, "a replay keeps the event id");
    assert.equal(received.at(-1)!.body, last.body, "and the body");
    assert.equal((await t.call("POST", `/api/media/webhooks/deliveries/${"0".repeat(32)}/replay`)).status, 404);
  });
});

test("the verification helper README shows accepts our signature and refuses a forged or stale one", async () => {
  const readme = await (await import("node:fs/promises")).readFile(new URL("../../README.md", import.meta.url), "utf8");
  const source = /```ts\n(import \{ createHmac[\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(source, "README holds the helper");
  const dir = await (await import("node:fs/promises")).mkdtemp(
    (await import("node:path")).join((await import("node:os")).tmpdir(), "readme-helper-"),
  );
  const file = (await import("node:path")).join(dir, "verify.ts");
  await (await import("node:fs/promises")).writeFile(file, source.replace(/^\/\/ Or:.*$/m, ""));
  const { verifyMediaWebhook } = (await import(file)) as {
    verifyMediaWebhook: (header: string | undefined, body: string, secrets: string[]) => boolean;
  };
  const body = JSON.stringify({ eventId: "e1" });
  const now = Math.floor(Date.now() / 1000);
  assert.equal(verifyMediaWebhook(signatureHeader([SECRET, OLD_SECRET], body, now), body, [SECRET]), true);
  assert.equal(
    verifyMediaWebhook(signatureHeader(["whsec-forged-0123456789"], body, now), body, [SECRET]),
    false,
    "forged",
  );
  assert.equal(verifyMediaWebhook(signatureHeader([SECRET], body, now - 3600), body, [SECRET]), false, "stale");
  assert.equal(verifyMediaWebhook(signatureHeader([SECRET], body, now), `${body} `, [SECRET]), false, "tampered");
});

test("the API refuses to start with a webhook URL aimed at cloud metadata or a private network", async () => {
  const { loadApiConfig, ConfigError } = await import("../../src/config/config.ts");
  const { startApiServer } = await import("../../src/api-server.ts");
  const env = {
    MEDIA_BUCKET: "media-uploads",
    MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:4566/000000000000/media-processing",
    REDIS_URL: "redis://127.0.0.1:6379/0",
    API_TOKEN: "0123456789abcdef",
    WEBHOOKS_ENABLED: "true",
    WEBHOOK_ENDPOINTS: JSON.stringify([
      { id: "metadata", url: "https://169.254.169.254/latest/meta-data/", secrets: [SECRET] },
      { id: "lan", url: "https://10.0.0.7/hook", secrets: [SECRET] },
    ]),
  };
  await assert.rejects(
    startApiServer(loadApiConfig(env)),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.problems.length === 2 &&
      error.problems.every((problem) => /not a public address/.test(problem)),
  );
});
