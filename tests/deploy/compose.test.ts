import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { loadConfig } from "../../src/config/config.ts";
import { parseDurationMs } from "../../src/config/duration.ts";
import { DEFAULT_EMULATOR_OPTIONS } from "../../src/dev/emulator.ts";

/**
 * docker-compose.media-processor.yml read as data: each lane's worker service can be scaled, every service
 * built from our image gets a configuration the app's own loader accepts, and every file it
 * mounts exists. `docker-compose config` (Debian's docker-compose) runs too when installed.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const COMPOSE_FILE = path.join(ROOT, "docker-compose.media-processor.yml");

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  container_name?: string;
  ports?: string[];
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
  healthcheck?: { test?: string[] };
}

const compose = parseYaml(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
/** The worker services, one per lane: the entry (quick) lane keeps the service name it always had. */
const WORKERS = [
  { service: "media-processor", lane: "quick" },
  { service: "media-processor-video", lane: "video" },
] as const;

/** `lane=value;lane=value` (MEDIA_LANES, MEDIA_LANE_QUEUE_URLS) as a map. */
function laneMap(text: string | undefined): Record<string, string> {
  return Object.fromEntries(
    (text ?? "")
      .split(";")
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]),
  );
}

const service = (name: string): Service => {
  const found = services[name];
  assert.ok(found, `service ${name} missing`);
  return found;
};

/** Compose's `${NAME:-default}` interpolation with nothing set in the shell. */
function interpolate(environment: Service["environment"]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment ?? {}).map(([name, value]) => [
      name,
      String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1"),
    ]),
  );
}

describe("docker-compose.media-processor.yml", () => {
  test("each lane's worker can be scaled: no container_name, no host ports", () => {
    for (const { service: name } of WORKERS) {
      assert.equal(service(name).container_name, undefined, name);
      assert.equal(service(name).ports, undefined, name);
    }
    for (const [name, definition] of Object.entries(services)) {
      assert.equal(definition.container_name, undefined, `${name} has a container_name`);
    }
  });

  test("worker, API and emulator run from the one image built from the Dockerfile, each with its command", () => {
    for (const [name, command] of [
      ["media-processor", "worker"],
      ["media-processor-video", "worker"],
      ["media-api", "api"],
      ["media-emulator", "emulator"],
    ] as const) {
      const definition = service(name);
      assert.equal(definition.image, "media-processor:local");
      assert.deepEqual(definition.build, { context: ".", dockerfile: "Dockerfile" });
      assert.deepEqual(definition.command, [command]);
      assert.equal(definition.read_only, true, `${name}: read-only root filesystem`);
      assert.deepEqual(definition.cap_drop, ["ALL"]);
    }
    assert.equal(service("redis").image, "redis:7-alpine");
  });

  test("the worker's environment is a configuration the app's loader accepts, pointed at the emulator's queues", () => {
    const env = interpolate(service("media-processor").environment);
    const config = loadConfig(env);
    assert.equal(config.aws.endpointUrl, "http://media-emulator:4566");
    assert.equal(config.aws.forcePathStyle, true);
    assert.deepEqual(config.storage.sourceBuckets, DEFAULT_EMULATOR_OPTIONS.buckets);
    assert.ok(config.queue.queueUrl.endsWith(`/${DEFAULT_EMULATOR_OPTIONS.queueName}`));
    assert.ok(config.queue.dlqUrl?.endsWith(`/${DEFAULT_EMULATOR_OPTIONS.dlqName}`));
    assert.equal(config.redis.url, "redis://redis:6379/0");
    assert.equal(env.MALLOC_ARENA_MAX, "2");
    assert.ok(config.storage.tempDir.startsWith("/tmp/"), "TEMP_DIR on the writable /tmp volume");
    assert.ok(service("media-processor").volumes?.includes("/tmp"));
    // The emulator's redrive count and the worker's final-failure count agree.
    assert.equal(interpolate(service("media-emulator").environment).MAX_PROCESSING_RETRIES, env.MAX_PROCESSING_RETRIES);
    // Job events go to the topic the emulator creates.
    assert.equal(
      config.jobEvents.topicArn,
      `arn:aws:sns:us-east-1:000000000000:${interpolate(service("media-emulator").environment).EMULATOR_JOB_EVENTS_TOPIC}`,
    );
    assert.equal(
      interpolate(service("media-api").environment).MEDIA_PROCESSING_TOPIC_ARN,
      config.jobEvents.topicArn,
      "the API publishes what it fails too",
    );
  });

  test("a quick and a video worker service, each consuming its own lane; the bucket notifies the entry (quick) lane", () => {
    const emulator = interpolate(service("media-emulator").environment);
    for (const { service: name, lane } of WORKERS) {
      const env = interpolate(service(name).environment);
      assert.equal(env.WORKER_LANES, lane, name);
      const lanes = laneMap(env.MEDIA_LANES);
      assert.deepEqual(Object.keys(lanes), ["quick", "video"], "quick first: the entry lane");
      assert.equal(lanes.video, "video");
      assert.deepEqual(lanes.quick?.split(",").sort(), ["audio", "document", "image"]);
      // The entry lane's queue is MEDIA_PROCESSING_QUEUE_URL, which the emulator's bridge feeds;
      // the video lane's queue is one the emulator creates.
      const queues = laneMap(env.MEDIA_LANE_QUEUE_URLS);
      assert.equal(queues.quick, undefined);
      const videoQueueName = queues.video?.split("/").at(-1);
      assert.ok(
        videoQueueName && emulator.EMULATOR_EXTRA_QUEUES?.split(",").includes(videoQueueName),
        `the emulator creates ${videoQueueName}`,
      );
      assert.ok(
        queues.video?.startsWith(env.MEDIA_PROCESSING_QUEUE_URL!.replace(/[^/]+$/, "")),
        "same account and host",
      );
      assert.equal(
        laneMap(env.MEDIA_LANE_CONCURRENCY)[lane],
        env.MEDIA_PROCESSOR_CONCURRENCY,
        `${name}: its lane's concurrency, however the worker reads it`,
      );
      assert.equal(loadConfig(env).queue.concurrency, Number(env.MEDIA_PROCESSOR_CONCURRENCY));
    }
    assert.equal(
      interpolate(service("media-api").environment).MEDIA_LANES,
      interpolate(service("media-processor").environment).MEDIA_LANES,
      "the API sees the lanes the workers run",
    );
  });

  test("docker's stop timeout outlasts each worker's drain window; the video worker drains for its whole job timeout", () => {
    for (const { service: name } of WORKERS) {
      const worker = service(name);
      const env = interpolate(worker.environment);
      const stopMs = parseDurationMs(worker.stop_grace_period ?? "10s", "s");
      const config = loadConfig(env);
      const drainMs = config.queue.shutdownGraceMs;
      assert.ok(
        stopMs !== undefined && stopMs >= drainMs + 10_000,
        `${name}: stop_grace_period ${worker.stop_grace_period} vs drain ${drainMs} ms`,
      );
      if (name === "media-processor-video")
        assert.equal(drainMs, config.jobs.processingTimeoutMs, "a running video is never cut short by a stop");
    }
  });

  test("worker and API wait for a healthy Redis and emulator", () => {
    for (const name of ["media-processor", "media-processor-video", "media-api"]) {
      assert.deepEqual(service(name).depends_on, {
        redis: { condition: "service_healthy" },
        "media-emulator": { condition: "service_healthy" },
      });
    }
    assert.ok(service("media-emulator").healthcheck?.test?.join(" ").includes("/health"));
  });

  test("host ports are bound to 127.0.0.1 only", () => {
    for (const [name, definition] of Object.entries(services)) {
      for (const port of definition.ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port}`);
    }
  });

  test("Prometheus and Grafana sit under the monitoring profile, and every mounted file exists", () => {
    assert.deepEqual(service("prometheus").profiles, ["monitoring"]);
    assert.deepEqual(service("grafana").profiles, ["monitoring"]);
    for (const [name, definition] of Object.entries(services)) {
      for (const volume of definition.volumes ?? []) {
        const source = volume.split(":")[0]!;
        if (!source.startsWith("./")) continue;
        assert.ok(existsSync(path.join(ROOT, source)), `${name} mounts missing ${source}`);
      }
    }
    const prometheus = parseYaml(readFileSync(path.join(ROOT, "deploy/compose/prometheus/prometheus.yml"), "utf8")) as {
      scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
    };
    const workers = prometheus.scrape_configs.find((config) => config.job_name === "media-processor");
    // DNS service discovery finds every replica of --scale media-processor=N, in both lanes.
    assert.deepEqual(
      workers?.dns_sd_configs?.[0]?.names,
      WORKERS.map((worker) => worker.service),
    );
    assert.equal(
      workers?.dns_sd_configs?.[0]?.port,
      Number(interpolate(service("media-processor-video").environment).METRICS_PORT),
    );
    assert.equal(
      workers?.dns_sd_configs?.[0]?.port,
      Number(interpolate(service("media-processor").environment).METRICS_PORT),
    );
  });

  const dockerCompose = spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0;
  test("docker-compose config accepts the file, with and without the monitoring profile", {
    skip: dockerCompose ? false : "docker-compose not installed (scripts/check-deploy.sh installs it)",
  }, () => {
    for (const args of [[], ["--profile", "monitoring"]]) {
      const result = spawnSync("docker-compose", ["-f", COMPOSE_FILE, ...args, "config", "--services"], {
        encoding: "utf8",
        cwd: ROOT,
      });
      assert.equal(result.status, 0, result.stderr);
      const listed = result.stdout.trim().split("\n").sort();
      // docker-compose 1.29 lists profiled services too; `up` starts them only with --profile.
      assert.deepEqual(listed, [
        "grafana",
        "media-api",
        "media-emulator",
        "media-processor",
        "media-processor-video",
        "prometheus",
        "redis",
      ]);
    }
  });
});
