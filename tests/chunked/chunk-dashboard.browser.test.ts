import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { generateClip } from "../helpers/generate-video.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "../api/api-harness.ts";
import { CHUNK_ENV } from "./chunk-helpers.ts";

/**
 * A chunked video in the console (headless Chromium, as tests/api/dashboard.browser.test.ts):
 * the job view draws one row per chunk with its worker, and hls.js plays the stitched master
 * (rungs plus the audio group) through the API to its end.
 */
const CHROMIUM = "/usr/bin/chromium";
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== "true"
    ? "chromium is not installed (bash scripts/setup-test-tools.sh)"
    : false;

async function waitUntil(page: Page, expression: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => Boolean(await page.evaluate(expression)), `the page to hold ${expression}`, timeoutMs);
}

describe("a chunked video in the console", { skip }, () => {
  let t: ApiTestStack;
  let browser: Browser;
  let page: Page;
  let work: string;
  let jobId: string;
  const DURATION = 12;

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "mp-chunk-dashboard-"));
    t = await startApiTestStack({ env: CHUNK_ENV });
    const clip = await generateClip({
      width: 320,
      height: 180,
      durationSec: DURATION,
      fps: 25,
      out: path.join(work, "clip.mp4"),
    });
    jobId = await t.stack.uploadAndNotify("tenants/acme/users/ana/media/1700000000-long.mp4", await readFile(clip));
    const job = await t.stack.waitForJob(jobId, undefined, 120_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    page.on("pageerror", (error) => assert.fail(`script error on the page: ${error.message}`));
    await page.goto(t.baseUrl);
    await page.fill("#token-input", TEST_TOKEN);
    await page.click("#token-form button[type=submit]");
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("the job view shows a row per chunk with its worker, and hls.js plays the stitched master to the end", async () => {
    await page.evaluate(`location.hash = "#job/${jobId}"`);
    await page.locator("#job-status").filter({ hasText: "completed" }).waitFor();
    const rows = page.locator("#timeline .step.chunk");
    await rows.first().waitFor();
    const labels = (await rows.allInnerTexts()).sort();
    // 12 s in 4 s chunks: 0–4, then the last 8 s re-cut as 4 + 2 + 2 (shrinking tail).
    assert.equal(labels.length, 6, `four chunks, the audio and the stills task: ${labels.join(" | ")}`);
    const workerId = t.stack.config.workerId;
    assert.deepEqual(
      labels,
      ["audio", "stills", "v0", "v1", "v2", "v3"].map((part) => `chunk ${part} · ${workerId}`),
    );

    await page.locator("#video-player[data-levels]").waitFor({ timeout: 60_000 });
    assert.equal(await page.locator("#video-player").getAttribute("data-levels"), "2");
    await waitUntil(page, 'document.getElementById("video-player").readyState >= 2', 30_000);
    const duration = Number(await page.evaluate('document.getElementById("video-player").duration'));
    assert.ok(Math.abs(duration - DURATION) < 0.5, `plays for the clip's ${DURATION} s (got ${duration})`);
    // Play it through, fast: the end is reached only if every chunk's segments follow on.
    await page.evaluate(
      'const v = document.getElementById("video-player"); v.muted = true; v.playbackRate = 8; v.play()',
    );
    await waitUntil(page, 'document.getElementById("video-player").ended', 60_000);
    const played = Number(await page.evaluate('document.getElementById("video-player").currentTime'));
    assert.ok(played > DURATION - 0.5, `played to ${played} s`);
    await page.screenshot({ path: "/tmp/dashboard-chunked.png", fullPage: true });
  });
});
