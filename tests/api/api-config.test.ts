import assert from "node:assert/strict";
import vm from "node:vm";
import { describe, test } from "node:test";
import { ConfigError, loadApiConfig, loadConfig } from "../../src/config/config.ts";
import { API_ENV_DOCS } from "../../src/config/config.schema.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML } from "../../src/api/dashboard/dashboard-page.ts";
import { DASHBOARD_SCRIPT } from "../../src/api/dashboard/dashboard-script.ts";

const BASE = {
  MEDIA_BUCKET: "media-uploads",
  MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:4566/000000000000/media-processing",
  REDIS_URL: "redis://127.0.0.1:6379/0",
};

describe("API configuration", () => {
  test("the API refuses to start without a token unless the insecure flag is set", () => {
    assert.throws(() => loadApiConfig(BASE), (error: unknown) => error instanceof ConfigError && /API_TOKEN: required/.test(error.message));
    assert.throws(() => loadApiConfig({ ...BASE, API_TOKEN: "   " }), ConfigError, "blank is missing");
    const insecure = loadApiConfig({ ...BASE, API_INSECURE_NO_AUTH: "true" });
    assert.equal(insecure.api.token, undefined);
    assert.equal(insecure.api.insecureNoAuth, true);
  });

  test("defaults, units and limits of the API variables; all problems listed at once", () => {
    const config = loadApiConfig({ ...BASE, API_TOKEN: "0123456789abcdef" });
    assert.deepEqual(config.api, { port: 8080, token: "0123456789abcdef", insecureNoAuth: false, bodyLimitBytes: 262_144, presignExpirySec: 900, publicS3Endpoint: undefined, statsMaxJobs: 20_000 });
    assert.equal(config.queue.queueUrl, BASE.MEDIA_PROCESSING_QUEUE_URL, "the shared configuration comes along");
    assert.equal(loadApiConfig({ ...BASE, API_TOKEN: "0123456789abcdef", API_PRESIGN_EXPIRY: "1h" }).api.presignExpirySec, 3600);
    assert.throws(
      () => loadApiConfig({ ...BASE, API_TOKEN: "short", API_PORT: "99999", API_BODY_LIMIT_BYTES: "12" }),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 3 && error.problems.some((problem) => problem.startsWith("API_TOKEN: expected at least 16")),
    );
    assert.deepEqual(Object.keys(API_ENV_DOCS).sort(), ["API_BODY_LIMIT_BYTES", "API_INSECURE_NO_AUTH", "API_PORT", "API_PRESIGN_EXPIRY", "API_PUBLIC_S3_ENDPOINT", "API_STATS_MAX_JOBS", "API_TOKEN"]);
  });

  test("the worker's loader neither needs nor checks the API's variables", () => {
    const config = loadConfig({ ...BASE, API_TOKEN: "short", API_PORT: "not-a-port" });
    assert.equal("api" in config, false);
  });
});

describe("dashboard assets", () => {
  test("the script is valid JavaScript and uses no innerHTML; the page loads only its own assets", () => {
    assert.doesNotThrow(() => new vm.Script(DASHBOARD_SCRIPT, { filename: "dashboard.js" }));
    assert.doesNotMatch(DASHBOARD_SCRIPT, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    assert.deepEqual([...DASHBOARD_HTML.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]), ["/dashboard/dashboard.css", "/dashboard/dashboard.js"]);
    assert.doesNotMatch(DASHBOARD_HTML, /<style|style="|<script>/, "no inline script or style (the CSP forbids them)");
    assert.ok(DASHBOARD_CSS.length > 0);
  });
});
