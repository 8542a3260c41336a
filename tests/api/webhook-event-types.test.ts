import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { throwIfAborted } from "../../src/errors.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { JOB_EVENT_TYPES } from "../../src/job-events/job-event.ts";
import { verifySignature } from "../../src/webhooks/webhook-signature.ts";
import { startApiTestStack, type ApiTestStack } from "./api-harness.ts";

/**
 * Every job event type that exists reaches webhook receivers, not only `completed` (which
 * webhooks.test.ts follows through retries): a job that fails (its upload is over
 * MAX_INPUT_BYTES) and one cancelled while it runs each deliver their event, signed.
 * (`playable` is not an event yet.)
 */
const SECRET = "whsec-types-0123456789ab";

/** Text uploads work until cancelled (a minute at most). */
const lingering: Processor = {
  name: "lingering",
  accepts: (media) => media.kind === "unknown",
  async process(ctx) {
    const started = Date.now();
    while (Date.now() - started < 60_000) {
      throwIfAborted(ctx.signal);
      ctx.progress(10, "lingering");
      await sleep(50);
    }
    return { outputs: [], metadata: {} };
  },
};

describe("webhooks carry failed and cancelled events too", () => {
  let t: ApiTestStack;
  let server: http.Server;
  const received: Array<{ signature: string; body: string }> = [];
  before(async () => {
    server = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        received.push({ signature: String(request.headers["media-signature"]), body });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    t = await startApiTestStack({
      processors: [lingering],
      env: { WEBHOOKS_ENABLED: "true", MAX_INPUT_BYTES: "4096" },
      apiEnv: {
        WEBHOOKS_ENABLED: "true",
        WEBHOOK_ENDPOINTS: JSON.stringify([{ id: "app", url, secrets: [SECRET] }]),
        WEBHOOK_ALLOW_HTTP: "true",
        WEBHOOK_ALLOW_PRIVATE_TARGETS: "true",
        WEBHOOK_POLL_INTERVAL: "20ms",
      },
    });
  });
  after(async () => {
    await t.stop();
    server.close();
  });

  const eventFor = async (jobId: string) => {
    for (let i = 0; i < 2_000; i++) {
      const found = received.find((entry) => (JSON.parse(entry.body) as { job: { id: string } }).job.id === jobId);
      if (found) return found;
      await sleep(25);
    }
    throw new Error(`no webhook for job ${jobId}`);
  };

  test("a failed job and a job cancelled while it runs each reach the receiver, signed", async () => {
    assert.deepEqual(
      [...JOB_EVENT_TYPES],
      ["media.job.completed", "media.job.failed", "media.job.cancelled"],
      "the event types this test covers with webhooks.test.ts",
    );
    const tooLarge = await t.stack.uploadAndNotify(
      "tenants/t1/users/u1/media/1700000000-abc-big.bin",
      Buffer.alloc(8192, 7),
    );
    const failed = await t.stack.waitForJob(tooLarge);
    assert.equal(failed.status, "failed");

    const running = await t.stack.uploadAndNotify(
      "tenants/t1/users/u1/media/1700000000-abd-notes.txt",
      "a text the lingering processor works on",
    );
    await t.stack.waitForJob(running, (job) => job.status === "processing");
    const cancel = await t.call("DELETE", `/api/media/jobs/${running}`);
    assert.ok(cancel.status === 200 || cancel.status === 202, cancel.text);
    assert.equal((await t.stack.waitForJob(running)).status, "cancelled");

    for (const [jobId, eventType] of [
      [tooLarge, "media.job.failed"],
      [running, "media.job.cancelled"],
    ] as const) {
      const delivery = await eventFor(jobId);
      const event = JSON.parse(delivery.body) as { eventType: string; job: { id: string; status: string } };
      assert.equal(event.eventType, eventType);
      assert.equal(event.job.status, eventType.split(".").at(-1));
      assert.equal(
        verifySignature({ header: delivery.signature, body: delivery.body, secrets: [SECRET] }).ok,
        true,
        eventType,
      );
    }
  });
});
