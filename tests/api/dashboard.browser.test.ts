import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { createSlowProcessor } from "../fixtures/slow.processor.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";

/**
 * The dashboard in headless Chromium (Debian's, installed by scripts/setup-test-tools.sh) driven
 * by playwright-core: the page asks for the token, shows stats and the jobs, a completed image
 * job shows its thumbnails from presigned URLs, and the Cancel and Retry buttons change a job's
 * state. Screenshots go to /tmp/dashboard-*.png for a person to look at.
 */
const CHROMIUM = "/usr/bin/chromium";
type LoadedImage = { naturalWidth: number; naturalHeight: number };
const skip = !existsSync(CHROMIUM) && process.env.CI !== "true" ? "chromium is not installed (bash scripts/setup-test-tools.sh)" : false;

describe("dashboard in headless Chromium", { skip }, () => {
  let t: ApiTestStack;
  let browser: Browser;
  let page: Page;
  let imageJob: string;

  before(async () => {
    t = await startApiTestStack({ processors: [createSlowProcessor(30_000)], env: { MEDIA_PROCESSOR_CONCURRENCY: "3" } });
    imageJob = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/1700000000-logo.png", await transparentPng());
    await t.stack.waitForJob(imageJob);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (error) => assert.fail(`script error on the page: ${error.message}`));
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  test("the page asks for the token once, then shows stats, health and the job list", async () => {
    await page.goto(t.baseUrl);
    await page.locator("#token-form").waitFor({ state: "visible" });
    assert.equal(await page.locator("#app").isHidden(), true, "no data before a token");
    await page.fill("#token-input", TEST_TOKEN);
    await page.click("#token-form button[type=submit]");
    await page.locator("#tile-workers .value").filter({ hasText: "1" }).waitFor();
    assert.equal(await page.locator("#token-form").isVisible(), false, "the token form goes away");
    assert.match(await page.locator("#tile-workers .sub").innerText(), /\/ 3 slots busy/);
    await page.locator(`#job-rows tr[data-job-id="${imageJob}"]`).waitFor();
    assert.match(await page.locator(`#job-rows tr[data-job-id="${imageJob}"]`).innerText(), /completed\s+image\s+1700000000-logo\.png/);
    assert.equal(await page.locator("#health").innerText(), "healthy");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("media-processor-token")), TEST_TOKEN, "kept for the session only");
  });

  test("a completed image job shows its timeline and its thumbnails", async () => {
    await page.click(`#job-rows tr[data-job-id="${imageJob}"]`);
    await page.locator("#job-status").filter({ hasText: "completed" }).waitFor();
    const thumb = page.locator('.preview img[data-variant="thumb_small"]');
    await thumb.waitFor();
    // Browser-side code as strings: the project compiles without the DOM library.
    await page.waitForFunction('[...document.querySelectorAll(".preview img")].filter((image) => image.complete && image.naturalWidth > 0).length === 6');
    const size = await thumb.evaluate((image) => [(image as unknown as LoadedImage).naturalWidth, (image as unknown as LoadedImage).naturalHeight]);
    assert.deepEqual(size, [150, 94], "the 150 px thumbnail of the 320×200 upload, served from its presigned URL");
    const steps = await page.locator("#timeline > div:nth-child(3n+1)").allInnerTexts();
    assert.equal(steps[0], "received");
    assert.equal(steps.at(-1), "completed");
    assert.equal(await page.locator("#timeline .bar").count(), steps.length, "one bar per step");
    assert.equal(await page.locator("#cancel-button").isDisabled(), true);
    assert.equal(await page.locator("#retry-button").innerText(), "Reprocess");
    await page.screenshot({ path: "/tmp/dashboard-completed.png", fullPage: true });
  });

  test("Cancel stops a processing job; Retry queues it again; the list follows", async () => {
    const slowJob = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/slow-report.txt", "SLOW report");
    await t.stack.waitForJob(slowJob, (job) => job.status === "processing" && job.timeline.some((entry) => entry.event === "processing"), 20_000);
    await page.evaluate(`location.hash = "#job/${slowJob}"`);
    await page.locator("#job-status").filter({ hasText: "processing" }).waitFor();
    await page.click("#cancel-button");
    await page.locator("#job-status").filter({ hasText: "cancelled" }).waitFor({ timeout: 10_000 });
    assert.equal((await t.stack.store.get(slowJob))?.status, "cancelled");
    assert.match(await page.locator("#job-error").innerText(), /cancelled/);
    await page.locator(`#job-rows tr[data-job-id="${slowJob}"] .pill-cancelled`).waitFor();
    await page.screenshot({ path: "/tmp/dashboard-cancelled.png", fullPage: true });

    await page.click("#retry-button");
    await page.locator("#job-status").filter({ hasText: /queued|processing/ }).waitFor();
    const retried = await t.stack.waitForJob(slowJob, (job) => job.status === "processing" && job.attempts === 2, 20_000);
    assert.ok(retried.timeline.some((entry) => entry.event === "retry-requested"));
    await page.locator("#job-status").filter({ hasText: "processing" }).waitFor();
    await page.click("#cancel-button");
    await page.locator("#job-status").filter({ hasText: "cancelled" }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: "/tmp/dashboard-retried.png", fullPage: true });
  });

  test("a refused token sends the operator back to the token form", async () => {
    await page.evaluate(() => sessionStorage.setItem("media-processor-token", "wrong-token-wrong-token"));
    await page.reload();
    await page.locator("#token-form").waitFor({ state: "visible" });
    assert.match(await page.locator("#token-message").innerText(), /refused/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("media-processor-token")), null);
  });
});
