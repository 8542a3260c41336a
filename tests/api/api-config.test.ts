import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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
    assert.throws(
      () => loadApiConfig(BASE),
      (error: unknown) => error instanceof ConfigError && /API_TOKEN: required/.test(error.message),
    );
    assert.throws(() => loadApiConfig({ ...BASE, API_TOKEN: "   " }), ConfigError, "blank is missing");
    const insecure = loadApiConfig({ ...BASE, API_INSECURE_NO_AUTH: "true" });
    assert.equal(insecure.api.token, undefined);
    assert.equal(insecure.api.insecureNoAuth, true);
  });

  test("defaults, units and limits of the API variables; all problems listed at once", () => {
    const config = loadApiConfig({ ...BASE, API_TOKEN: "0123456789abcdef" });
    assert.deepEqual(config.api, {
      port: 8080,
      token: "0123456789abcdef",
      insecureNoAuth: false,
      bodyLimitBytes: 262_144,
      presignExpirySec: 900,
      tokens: [
        {
          id: "api-token",
          scope: "admin",
          tenant: undefined,
          sha256: createHash("sha256").update("0123456789abcdef").digest("hex"),
        },
      ],
      statsCacheMs: 2_000,
      queueDepthIntervalMs: 5_000,
      publicS3Endpoint: undefined,
      uploadExpirySec: 900,
      uploadNotifications: false,
      playbackPublic: false,
      delivery: { signingKeys: [], urlTtlSec: 3600 },
      webhooks: {
        endpoints: [],
        allowHttp: false,
        allowPrivateTargets: false,
        retryBaseMs: 30_000,
        retryWindowMs: 86_400_000,
        timeoutMs: 10_000,
        pollMs: 1_000,
      },
    });
    assert.equal(config.queue.queueUrl, BASE.MEDIA_PROCESSING_QUEUE_URL, "the shared configuration comes along");
    assert.equal(
      loadApiConfig({ ...BASE, API_TOKEN: "0123456789abcdef", API_PRESIGN_EXPIRY: "1h" }).api.presignExpirySec,
      3600,
    );
    assert.throws(
      () => loadApiConfig({ ...BASE, API_TOKEN: "short", API_PORT: "99999", API_BODY_LIMIT_BYTES: "12" }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.length === 3 &&
        error.problems.some((problem) => problem.startsWith("API_TOKEN: expected at least 16")),
    );
    assert.deepEqual(Object.keys(API_ENV_DOCS).sort(), [
      "API_BODY_LIMIT_BYTES",
      "API_INSECURE_NO_AUTH",
      "API_PLAYBACK_PUBLIC",
      "API_PORT",
      "API_PRESIGN_EXPIRY",
      "API_PUBLIC_S3_ENDPOINT",
      "API_QUEUE_DEPTH_INTERVAL",
      "API_STATS_CACHE",
      "API_TOKEN",
      "API_TOKENS",
      "API_UPLOAD_EXPIRY",
      "API_UPLOAD_NOTIFICATIONS",
      "DELIVERY_SIGNING_KEYS",
      "DELIVERY_URL_TTL",
      "WEBHOOK_ALLOW_HTTP",
      "WEBHOOK_ALLOW_PRIVATE_TARGETS",
      "WEBHOOK_ENDPOINTS",
      "WEBHOOK_POLL_INTERVAL",
      "WEBHOOK_RETRY_BASE",
      "WEBHOOK_RETRY_WINDOW",
      "WEBHOOK_TIMEOUT",
    ]);
  });

  test("delivery signing keys: one, or two while rotating, long enough, never echoed; the TTL has a unit", () => {
    const base = { ...BASE, API_TOKEN: "0123456789abcdef" };
    const a = "a".repeat(32);
    const b = "b".repeat(40);
    assert.deepEqual(
      loadApiConfig({ ...base, DELIVERY_SIGNING_KEYS: ` ${a} , ${b} `, DELIVERY_URL_TTL: "2h" }).api.delivery,
      { signingKeys: [a, b], urlTtlSec: 7200 },
    );
    assert.equal(
      loadApiConfig({ ...base, DELIVERY_URL_TTL: "90" }).api.delivery.urlTtlSec,
      90,
      "a bare number is seconds",
    );
    for (const [value, why] of [
      [`${a},${b},${"c".repeat(32)}`, "three keys"],
      ["short-key-0123456789", "too short"],
      [`${a},${a}`, "the same key twice"],
    ] as const) {
      assert.throws(
        () => loadApiConfig({ ...base, DELIVERY_SIGNING_KEYS: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.length === 1 &&
          error.problems[0]!.startsWith("DELIVERY_SIGNING_KEYS:") &&
          !error.problems[0]!.includes(value.split(",")[0]!),
        why,
      );
    }
    assert.throws(
      () => loadApiConfig({ ...base, DELIVERY_URL_TTL: "1s" }),
      (error: unknown) => error instanceof ConfigError && error.problems[0]!.startsWith("DELIVERY_URL_TTL:"),
    );
  });

  test("the application surface's variables: CDN base without its slash, webhook endpoints validated without echoing secrets, a retry window of at least 24 h", () => {
    const base = { ...BASE, API_TOKEN: "0123456789abcdef" };
    assert.equal(
      loadApiConfig({ ...base, CDN_BASE_URL: "https://cdn.example.com/media/" }).storage.cdnBaseUrl,
      "https://cdn.example.com/media",
    );
    const endpoints = [
      { id: "app", url: "https://hooks.example.com/media", secrets: ["whsec-0123456789abcdef"], tenant: "t1" },
    ];
    const config = loadApiConfig({ ...base, WEBHOOKS_ENABLED: "true", WEBHOOK_ENDPOINTS: JSON.stringify(endpoints) });
    assert.deepEqual(config.api.webhooks.endpoints, endpoints);
    assert.equal(config.jobEvents.webhooksEnabled, true);
    assert.throws(
      () => loadApiConfig({ ...base, WEBHOOK_ENDPOINTS: JSON.stringify(endpoints) }),
      (error: unknown) => error instanceof ConfigError && /WEBHOOKS_ENABLED/.test(error.problems.join()),
    );
    assert.throws(
      () =>
        loadApiConfig({
          ...base,
          WEBHOOKS_ENABLED: "true",
          WEBHOOK_ENDPOINTS: JSON.stringify([{ id: "app", url: "https://x.example", secrets: ["short-secret"] }]),
        }),
      (error: unknown) => error instanceof ConfigError && !error.problems.join().includes("short-secret"),
    );
    assert.throws(() => loadApiConfig({ ...base, WEBHOOK_RETRY_WINDOW: "23h" }), ConfigError);
  });

  test("API_TOKENS: id, scope, optional tenant, the token or only its SHA-256; problems never echo a token", () => {
    const hash = createHash("sha256").update("portal-secret-0123456789").digest("hex");
    const config = loadApiConfig({
      ...BASE,
      API_TOKENS: `grafana:read:read-secret-0123456789, ops:operate:ops-secret-0123456789,acme-portal:operate@acme:sha256=${hash.toUpperCase()}`,
    });
    assert.deepEqual(
      config.api.tokens.map((token) => [token.id, token.scope, token.tenant]),
      [
        ["grafana", "read", undefined],
        ["ops", "operate", undefined],
        ["acme-portal", "operate", "acme"],
      ],
    );
    assert.equal(config.api.tokens[2]!.sha256, hash, "a configured hash is used as it is (lower-cased)");
    assert.equal(config.api.tokens[0]!.sha256, createHash("sha256").update("read-secret-0123456789").digest("hex"));
    for (const bad of [
      "ops:root:secret-0123456789abcdef",
      "ops:read:short",
      "no-scope-here",
      "a:read:secret-0123456789abcdef,a:admin:other-0123456789abcdef",
    ]) {
      assert.throws(
        () => loadApiConfig({ ...BASE, API_TOKENS: bad }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.problems.some((problem) => problem.startsWith("API_TOKENS:")) &&
          !/secret|short|other-/.test(error.message),
        bad,
      );
    }
    assert.throws(
      () =>
        loadApiConfig({ ...BASE, API_TOKEN: "0123456789abcdef", API_TOKENS: "api-token:read:secret-0123456789abcdef" }),
      ConfigError,
      "the id of API_TOKEN is taken",
    );
    assert.equal(
      loadApiConfig({ ...BASE, API_TOKENS: "ops:operate:ops-secret-0123456789" }).api.token,
      undefined,
      "API_TOKENS alone is enough",
    );
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
    assert.deepEqual(
      [...DASHBOARD_HTML.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]),
      ["/dashboard/dashboard.css", "/dashboard/dashboard.js"],
    );
    assert.doesNotMatch(DASHBOARD_HTML, /<style|style="|<script>/, "no inline script or style (the CSP forbids them)");
    assert.ok(DASHBOARD_CSS.length > 0);
  });
});
