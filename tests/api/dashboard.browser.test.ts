import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildS3Notification } from "../../src/s3-events/s3-event.parser.ts";
import { jobIdFor } from "../../src/jobs/job.model.ts";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { generateTone } from "../helpers/generate-audio.ts";
import { transparentPng, truncatedJpeg } from "../helpers/generate-images.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The console in headless Chromium (Debian's, installed by scripts/setup-test-tools.sh) driven
 * by playwright-core: the token is asked once; stats, the chart and the job list show; a
 * completed image job shows its labelled timeline and thumbnails from presigned URLs; a video
 * job plays its HLS ladder through the API with hls.js and an audio job has its player; a
 * running job is pinned on top with its elapsed time and is on its worker's card; Cancel and
 * Retry change a job's state; search finds by key prefix; failures show their error code in the
 * list and in the breakdown; bulk retry and the DLQ redrive run as background actions; polls
 * never overlap even when the API is slower than their interval. Screenshots go to
 * /tmp/dashboard-*.png for a person to look at.
 */
const CHROMIUM = "/usr/bin/chromium";
type LoadedImage = { naturalWidth: number; naturalHeight: number };
/**
 * Waits until a page expression is truthy. page.evaluate runs it through the DevTools protocol,
 * which the page's content policy (no eval) does not apply to, unlike waitForFunction's polling.
 */
async function waitUntil(page: Page, expression: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => Boolean(await page.evaluate(expression)), `the page to hold ${expression}`, timeoutMs);
}

const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "chromium is not installed (bash scripts/setup-test-tools.sh)"
    : false;

describe("dashboard in headless Chromium", { skip }, () => {
  let t: ApiTestStack;
  let browser: Browser;
  let page: Page;
  let imageJob: string;
  let brokenJob: string;
  let videoJob: string;
  let audioJob: string;
  let work: string;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "mp-dashboard-"));
    t = await startApiTestStack({
      processors: [createSlowProcessor(30_000)],
      env: {
        MEDIA_PROCESSOR_CONCURRENCY: "3",
        VIDEO_HLS_RUNGS: "240:300k:64k",
        VIDEO_HLS_SEGMENT_SECONDS: "1",
        JOB_LEASE_RENEW_INTERVAL: "1",
      },
    });
    imageJob = await t.stack.uploadAndNotify(
      "tenants/acme/users/ana/media/1700000000-logo.png",
      await transparentPng(),
    );
    brokenJob = await t.stack.uploadAndNotify(
      "tenants/acme/users/ana/media/1700000001-broken.jpg",
      await truncatedJpeg(),
    );
    const clip = await generateClip({ width: 320, height: 240, durationSec: 2, out: path.join(work, "clip.mp4") });
    videoJob = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/1700000002-clip.mp4", await readFile(clip));
    const tone = await generateTone({
      channels: ["0.5*sin(2*PI*440*t)", "0.5*sin(2*PI*660*t)"],
      sampleRate: 44100,
      durationSec: 2,
      out: path.join(work, "tone.wav"),
    });
    audioJob = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/1700000003-tone.wav", await readFile(tone));
    for (const id of [imageJob, brokenJob, videoJob, audioJob]) await t.stack.waitForJob(id, undefined, 120_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--autoplay-policy=no-user-gesture-required",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    page.on("pageerror", (error) => assert.fail(`script error on the page: ${error.message}`));
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("the page asks for the token once, then shows stats, health, the chart and the job list with its error column", async () => {
    await page.goto(t.baseUrl);
    await page.locator("#token-form").waitFor({ state: "visible" });
    assert.equal(await page.locator("#app").isHidden(), true, "no data before a token");
    await page.fill("#token-input", TEST_TOKEN);
    await page.click("#token-form button[type=submit]");
    await page.locator("#tile-workers .value").filter({ hasText: "1" }).waitFor();
    assert.equal(await page.locator("#token-form").isVisible(), false, "the token form goes away");
    assert.match(await page.locator("#tile-workers .sub").innerText(), /\/ 3 slots busy/);
    await page.locator(`#job-rows tr[data-job-id="${imageJob}"]`).waitFor();
    assert.match(
      await page.locator(`#job-rows tr[data-job-id="${imageJob}"]`).innerText(),
      /completed\s+image\s+1700000000-logo\.png/,
    );
    assert.match(
      await page.locator(`#job-rows tr[data-job-id="${brokenJob}"] td.err`).innerText(),
      /^image-/,
      "the list shows the failure's error code",
    );
    const code = (await t.stack.store.get(brokenJob))!.error!.code;
    await page.locator(`#error-codes tr[data-code="${code}"]`).waitFor();
    assert.match(await page.locator(`#error-codes tr[data-code="${code}"]`).innerText(), new RegExp(`${code}\\s+1\\s`));
    assert.ok(
      (await page.locator("#history-chart rect.bar-completed").count()) >= 60,
      "one bar per minute of the hour",
    );
    assert.match(await page.locator("#health").innerText(), /healthy|degraded/);
    assert.equal(
      await page.evaluate(() => sessionStorage.getItem("media-processor-token")),
      TEST_TOKEN,
      "kept for the session only",
    );
  });

  test("a completed image job shows its timeline, bars labelled with the step they measure, and its thumbnails", async () => {
    await page.click(`#job-rows tr[data-job-id="${imageJob}"]`);
    await page.locator("#job-status").filter({ hasText: "completed" }).waitFor();
    const thumb = page.locator('.preview img[data-variant="thumb_small"]');
    await thumb.waitFor();
    // Browser-side code as strings: the project compiles without the DOM library.
    await waitUntil(
      page,
      '[...document.querySelectorAll(".preview img")].filter((image) => image.complete && image.naturalWidth > 0).length === 6',
    );
    const size = await thumb.evaluate((image) => [
      (image as unknown as LoadedImage).naturalWidth,
      (image as unknown as LoadedImage).naturalHeight,
    ]);
    assert.deepEqual(size, [150, 94], "the 150 px thumbnail of the 320×200 upload, served from its presigned URL");
    const events = (await t.stack.store.get(imageJob))!.timeline.map((entry) => entry.event);
    const rows = page.locator("#timeline .step");
    assert.equal(await rows.count(), events.length, "one row per timeline entry");
    assert.equal(await page.locator("#timeline .bar").count(), events.length, "one bar per row");
    assert.equal(
      await page.locator('#timeline .step[data-to="encoded"]').innerText(),
      "encode",
      "the interval that ends with `encoded` is the encode, whatever started it",
    );
    assert.equal(await page.locator('#timeline .step[data-to="downloaded"]').innerText(), "download");
    assert.equal(
      await page.locator('#timeline .step[data-from="completed"]').innerText(),
      "completed",
      "the last entry is a marker",
    );
    assert.equal(await page.locator("#cancel-button").isDisabled(), true);
    assert.equal(await page.locator("#retry-button").innerText(), "Reprocess");
    await page.screenshot({ path: "/tmp/dashboard-completed.png", fullPage: true });
  });

  test("a video job plays its HLS ladder through the API with hls.js; an audio job has an audio player", async () => {
    await page.evaluate(`location.hash = "#job/${videoJob}"`);
    // Generous: under a loaded machine hls.js, the API and the emulator share two cores.
    await page.locator("#video-player[data-levels]").waitFor({ timeout: 60_000 });
    assert.equal(
      await page.locator("#video-player").getAttribute("data-levels"),
      "1",
      "hls.js parsed the one-rung master playlist",
    );
    await waitUntil(page, 'document.getElementById("video-player").readyState >= 2', 20_000);
    const duration = Number(await page.evaluate('document.getElementById("video-player").duration'));
    assert.ok(duration > 1.5 && duration < 2.6, `the ladder plays for the clip's 2 s (got ${duration})`);
    assert.equal(
      await page.evaluate("typeof window.Hls"),
      "function",
      "hls.js came from /dashboard/vendor, loaded on demand",
    );
    await page.screenshot({ path: "/tmp/dashboard-video.png", fullPage: true });

    await page.evaluate(`location.hash = "#job/${audioJob}"`);
    await page.locator("#audio-player source").first().waitFor({ state: "attached" });
    await waitUntil(page, 'document.getElementById("audio-player").readyState >= 1', 20_000);
    const audioDuration = Number(await page.evaluate('document.getElementById("audio-player").duration'));
    assert.ok(
      audioDuration > 1.5 && audioDuration < 2.6,
      `the transcode plays for 2 s from its presigned URL (got ${audioDuration})`,
    );
  });

  test("a running job is pinned on top with its elapsed time and on its worker's card; Cancel stops it; Retry queues it again", async () => {
    const slowJob = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/slow-report.txt", "SLOW report");
    await t.stack.waitForJob(
      slowJob,
      (job) => job.status === "processing" && job.timeline.some((entry) => entry.event === "processing"),
      20_000,
    );
    const pinned = page.locator(`#running-rows tr[data-job-id="${slowJob}"]`);
    // A job is processing (and listed) from its claim; its type follows once its bytes are
    // detected, so the row may first show "pending" until the next poll.
    await pinned.filter({ hasText: /slow-report\.txt\s*slow\s*test-/ }).waitFor({ timeout: 10_000 });
    await waitUntil(
      page,
      `/\\d/.test(document.querySelector('#running-rows tr[data-job-id="${slowJob}"] .elapsed').textContent)`,
    );
    await page.locator(`#workers .worker li[data-job-id="${slowJob}"]`).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: "/tmp/dashboard-running.png", fullPage: true });

    await pinned.click();
    await page.locator("#job-status").filter({ hasText: "processing" }).waitFor();
    await page.click("#cancel-button");
    await page.locator("#job-status").filter({ hasText: "cancelled" }).waitFor({ timeout: 10_000 });
    assert.equal((await t.stack.store.get(slowJob))?.status, "cancelled");
    assert.match(await page.locator("#job-error").innerText(), /cancelled/);
    await page.locator(`#job-rows tr[data-job-id="${slowJob}"] .pill-cancelled`).waitFor();
    await page.locator(`#running-rows tr[data-job-id="${slowJob}"]`).waitFor({ state: "detached" });

    await page.click("#retry-button");
    await page
      .locator("#job-status")
      .filter({ hasText: /queued|processing/ })
      .waitFor();
    const retried = await t.stack.waitForJob(
      slowJob,
      (job) => job.status === "processing" && job.attempts === 2,
      20_000,
    );
    assert.ok(retried.timeline.some((entry) => entry.event === "retry-requested" && entry.detail?.by === "api-token"));
    await page.locator("#job-status").filter({ hasText: "processing" }).waitFor();
    await page.click("#cancel-button");
    await page.locator("#job-status").filter({ hasText: "cancelled" }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: "/tmp/dashboard-retried.png", fullPage: true });
  });

  test("search by key prefix, and a bulk retry of everything failed, shown as a background action", async () => {
    await page.fill("#search", "tenants/acme/users/ana/media/1700000001");
    // The broken job's row is in the unfiltered list too: wait for the search's answer to replace it.
    await waitUntil(page, 'document.querySelectorAll("#job-rows tr").length === 1');
    await page.locator(`#job-rows tr[data-job-id="${brokenJob}"]`).waitFor();
    assert.equal(await page.locator("#job-rows tr").count(), 1, "only the key that matches");
    await page.fill("#search", "");
    await page.selectOption("#filter-status", "failed");
    assert.equal(await page.locator("#bulk-retry").isDisabled(), false);
    assert.equal(await page.locator("#bulk-cancel").isDisabled(), true);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.click("#bulk-retry");
    await page.locator('#actions li[data-state="done"]').filter({ hasText: "bulk-retry" }).waitFor({ timeout: 20_000 });
    assert.match(
      await page.locator('#actions li[data-state="done"]').filter({ hasText: "bulk-retry" }).first().innerText(),
      /1 done, 0 skipped, 0 failed of 1 matched/,
    );
    const again = await t.stack.waitForJob(brokenJob, (job) => job.status === "failed" && job.attempts === 2, 30_000);
    assert.ok(again.timeline.some((entry) => entry.event === "retry-requested" && entry.detail?.via === "bulk"));
    await page.selectOption("#filter-status", "");
  });

  test("the DLQ view shows messages with their keys and errors; Redrive all moves the event and reports the junk body", async () => {
    const key = "tenants/acme/users/ana/media/1700000009-lost.png";
    const { eTag } = await t.stack.upload(key, await transparentPng());
    await t.stack.sqs.send(
      new SendMessageCommand({
        QueueUrl: t.config.queue.dlqUrl,
        MessageBody: buildS3Notification([{ bucket: t.stack.bucket, key, eTag }]),
      }),
    );
    await t.stack.sqs.send(
      new SendMessageCommand({ QueueUrl: t.config.queue.dlqUrl, MessageBody: "garbage that is not an event" }),
    );
    await page.click("#dlq-refresh");
    await page.locator("#dlq-rows tr[data-message-id]").nth(1).waitFor();
    assert.match(await page.locator("#dlq-rows").innerText(), /1700000009-lost\.png/);
    assert.match(await page.locator("#dlq-rows").innerText(), /not an event \(not-json\): garbage/);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.click("#dlq-redrive-all");
    const done = page.locator('#actions li[data-state="done"]').filter({ hasText: "dlq-redrive" });
    await done.waitFor({ timeout: 20_000 });
    assert.match(await done.first().innerText(), /1 moved/);
    assert.match(await done.first().locator(".not-events").innerText(), /not-json garbage that is not an event/);
    const redriven = await t.stack.waitForJob(
      jobIdFor({ bucket: t.stack.bucket, key, eTag }),
      (job) => job.status === "completed",
      30_000,
    );
    assert.equal(redriven.type, "image");
    await page.screenshot({ path: "/tmp/dashboard-dlq.png", fullPage: true });
  });

  test("polls never overlap, even when the API answers slower than the poll interval", async () => {
    const slow = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // Every stats call takes 7 s here, longer than its 5 s interval: an interval timer would have two in flight.
    await slow.addInitScript(`
      window.__inFlight = {}; window.__maxInFlight = {}; window.__calls = {};
      const original = window.fetch.bind(window);
      window.fetch = (url, init) => {
        // By the full URL: the running list and the job list call the same path with other queries.
        const name = String(url);
        window.__inFlight[name] = (window.__inFlight[name] || 0) + 1;
        window.__calls[name] = (window.__calls[name] || 0) + 1;
        window.__maxInFlight[name] = Math.max(window.__maxInFlight[name] || 0, window.__inFlight[name]);
        const wait = name.includes("/jobs/stats?") ? new Promise((resolve) => setTimeout(resolve, 7000)) : Promise.resolve();
        return wait.then(() => original(url, init)).finally(() => { window.__inFlight[name] -= 1; });
      };
      sessionStorage.setItem("media-processor-token", ${JSON.stringify(TEST_TOKEN)});
    `);
    try {
      await slow.goto(t.baseUrl);
      const stats = "/api/media/jobs/stats?windowMinutes=60";
      await waitUntil(slow, `(window.__calls[${JSON.stringify(stats)}] || 0) >= 2`, 30_000);
      const max = (await slow.evaluate("window.__maxInFlight")) as Record<string, number>;
      assert.equal(max[stats], 1, JSON.stringify(max));
      assert.ok(
        Object.values(max).every((count) => count === 1),
        `no endpoint ever had two calls in flight: ${JSON.stringify(max)}`,
      );
    } finally {
      await slow.close();
    }
  });

  test("a refused token sends the operator back to the token form", async () => {
    await page.evaluate(() => sessionStorage.setItem("media-processor-token", "wrong-token-wrong-token"));
    await page.reload();
    await page.locator("#token-form").waitFor({ state: "visible" });
    assert.match(await page.locator("#token-message").innerText(), /refused/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("media-processor-token")), null);
  });
});
