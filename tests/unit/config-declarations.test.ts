import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { loadApiConfig, loadConfig, loadEmulatorConfig } from "../../src/config/config.ts";
import { API_VARS, EMULATOR_VARS, WORKER_VARS } from "../../src/config/config.schema.ts";
import { DEFAULT_EMULATOR_OPTIONS } from "../../src/dev/emulator.ts";

/** The variable declarations (src/config/config.schema.ts) as the single source of every variable. */

const baseEnv = {
  MEDIA_BUCKET: "media",
  MEDIA_PROCESSING_QUEUE_URL: "http://localhost:4566/000000000000/q",
  REDIS_URL: "redis://localhost:6379",
};
const ALL = { ...WORKER_VARS, ...API_VARS, ...EMULATOR_VARS };

test("a seconds duration takes 300s, 5m and 300000ms, and its bare form keeps meaning seconds", () => {
  for (const value of ["300s", "5m", "300000ms", "300"]) {
    assert.equal(loadConfig({ ...baseEnv, SQS_VISIBILITY_TIMEOUT: value }).queue.visibilityTimeoutSec, 300, value);
    assert.equal(
      loadApiConfig({ ...baseEnv, API_INSECURE_NO_AUTH: "true", API_UPLOAD_EXPIRY: value }).api.uploadExpirySec,
      300,
      value,
    );
  }
});

test("a milliseconds duration takes 300s, 5m and 300000ms, and its bare form keeps meaning milliseconds", () => {
  for (const value of ["300s", "5m", "300000ms", "300000"]) {
    assert.equal(loadConfig({ ...baseEnv, PROCESSING_TIMEOUT: value }).jobs.processingTimeoutMs, 300_000, value);
  }
});

test("every duration variable reads its default written with ms, s, m (where whole) and bare, alike", () => {
  const durations = Object.entries(ALL).filter(([, spec]) => "duration" in spec && spec.duration);
  assert.ok(durations.length >= 20, `${durations.length} duration variables`);
  for (const [name, spec] of durations) {
    const ms = spec.schema.parse(undefined) as number;
    const forms = [
      `${ms}ms`,
      `${ms / 1000}s`,
      spec.unit === "ms" ? String(ms) : String(ms / 1000),
      ...(ms % 60_000 === 0 ? [`${ms / 60_000}m`] : []),
    ];
    for (const form of forms) assert.equal(spec.schema.parse(form), ms, `${name}=${form}`);
  }
});

test("the emulator command's defaults are the in-process emulator's, and it reads the shared variables as the worker does", () => {
  const defaults = loadEmulatorConfig({});
  for (const key of [
    "port",
    "queueUrlHost",
    "region",
    "buckets",
    "queueName",
    "dlqName",
    "extraQueueNames",
    "jobEventsTopic",
    "maxReceiveCount",
    "outputSegment",
  ] as const) {
    assert.deepEqual(defaults[key], DEFAULT_EMULATOR_OPTIONS[key], key);
  }
  const set = loadEmulatorConfig({
    EMULATOR_PORT: "14566",
    EMULATOR_HOST: "media-emulator",
    EMULATOR_JOB_EVENTS_TOPIC: "events",
    EMULATOR_EXTRA_QUEUES: "media-processing-video, media-processing-archive",
    MEDIA_BUCKET: "a-bucket, b-bucket",
    MAX_PROCESSING_RETRIES: "5",
    LOG_LEVEL: "warn",
  });
  assert.deepEqual(
    [
      set.port,
      set.queueUrlHost,
      set.jobEventsTopic,
      set.extraQueueNames,
      set.buckets,
      set.maxReceiveCount,
      set.logLevel,
    ],
    [
      14566,
      "media-emulator",
      "events",
      ["media-processing-video", "media-processing-archive"],
      ["a-bucket", "b-bucket"],
      5,
      "warn",
    ],
  );
  assert.throws(
    () => loadEmulatorConfig({ EMULATOR_PORT: "99999", MAX_PROCESSING_RETRIES: "0" }),
    (error: unknown) =>
      error instanceof Error && /EMULATOR_PORT/.test(error.message) && /MAX_PROCESSING_RETRIES/.test(error.message),
  );
});

/**
 * Files outside src/config that may touch process.env, and why. Anything else reads its
 * variables from the config it is given, so a variable cannot grow a second default elsewhere.
 */
const ENV_READERS: Record<string, string> = {
  "media/child-fence.ts": "hands children the environment, filtered through the fence's allowlist",
  "media/tool-process.ts": "the same allowlisted environment for media tools",
  "processors/document/libreoffice.ts": "looks soffice up on PATH, a process-level setting",
};

test("no module outside src/config reads process.env (the fence's child environment, PATH and src/dev's developer stack aside)", async () => {
  const src = fileURLToPath(new URL("../../src/", import.meta.url));
  const readers: string[] = [];
  const declaredReads: string[] = [];
  for (const entry of await readdir(src, { recursive: true })) {
    if (!entry.endsWith(".ts")) continue;
    const file = entry.split(path.sep).join("/");
    if (file.startsWith("config/")) continue;
    const text = await readFile(path.join(src, entry), "utf8");
    if (/process\.env\b/.test(text) && !file.startsWith("dev/")) readers.push(file);
    // Even src/dev may not repeat a declared default: it may override one (the demo's free port), or read the declaration's.
    for (const match of text.matchAll(/process\.env\.([A-Z0-9_]+)\s*(?:\?\?|\|\|)\s*(?:"([^"]*)"|(\d[\d_]*))/g)) {
      const spec = (ALL as Record<string, { default: string | undefined }>)[match[1]!];
      const literal = match[2] ?? match[3]!.replace(/_/g, "");
      if (spec?.default !== undefined && literal === spec.default)
        declaredReads.push(`${file}: ${match[1]} ?? ${literal}`);
    }
  }
  assert.deepEqual(readers.sort(), Object.keys(ENV_READERS).sort());
  assert.deepEqual(declaredReads, []);
});
