import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { createMetrics } from "../../src/metrics/metrics.ts";
import { findHelm, helmTemplate } from "./helm.ts";

/**
 * What operators watch, checked by Prometheus's own tool: the metrics exposition parses, the
 * alert rules and the compose Prometheus config load, every dashboard query compiles, and the
 * alerts and the KEDA prometheus query give the right numbers on made-up series (promtool test
 * rules), in particular with several workers reporting the same queue.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ALERTS = path.join(ROOT, "charts/media-processor/files/prometheus-alerts.yaml");
const DASHBOARD = path.join(ROOT, "charts/media-processor/files/grafana-dashboard.json");

function findPromtool(): string | undefined {
  if (spawnSync("promtool", ["--version"]).status === 0) return "promtool";
  const gopath =
    process.env.GOPATH ??
    (spawnSync("go", ["env", "GOPATH"], { encoding: "utf8" }).stdout?.trim() || path.join(os.homedir(), "go"));
  const candidate = path.join(gopath, "bin", "promtool");
  return existsSync(candidate) ? candidate : undefined;
}

const promtool = findPromtool();
const skip =
  promtool === undefined ? "promtool not found (scripts/check-deploy.sh builds it from the Prometheus module)" : false;
const workDir = mkdtempSync(path.join(os.tmpdir(), "media-monitoring-"));
after(() => rmSync(workDir, { recursive: true, force: true }));

function run(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync(promtool!, args, { encoding: "utf8", input, cwd: workDir });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function write(name: string, content: string): string {
  const file = path.join(workDir, name);
  writeFileSync(file, content);
  return file;
}

/** Dashboard template variables replaced by what Grafana would put there. */
function dashboardExpressions(): Array<{ title: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  };
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      title: panel.title,
      expr: target.expr.replaceAll("$job", ".*").replaceAll("$__rate_interval", "1m"),
    })),
  );
}

/** The default query of the chart's prometheus trigger, as rendered by helm (or the same text when helm is absent). */
function kedaQuery(): string {
  const fallback =
    'sum(max by (state) (media_queue_messages{queue="media", state=~"visible|in_flight", namespace="media"}))';
  const helm = findHelm();
  if (!helm) return fallback;
  const rendered = helmTemplate(helm, [
    "-f",
    path.join(ROOT, "charts/media-processor/ci/prometheus-trigger-values.yaml"),
    "--namespace",
    "media",
  ]);
  if (!rendered.ok) assert.fail(rendered.error);
  const scaledObject = rendered.objects.find((object) => object.kind === "ScaledObject");
  assert.ok(scaledObject, "the chart renders a ScaledObject");
  const triggers = (scaledObject.spec as { triggers: Array<{ metadata: { query: string } }> }).triggers;
  return triggers[0]!.metadata.query;
}

describe("monitoring", { skip }, () => {
  test("the worker's metrics exposition passes promtool check metrics, with every metric of the contract present", async () => {
    const metrics = createMetrics();
    metrics.jobsTotal.inc({ type: "image", status: "completed" });
    metrics.jobDuration.observe({ type: "image" }, 1.2);
    metrics.jobsInFlight.set({ type: "video" }, 1);
    metrics.jobErrors.inc({ type: "video", category: "transient" });
    metrics.bytesTotal.inc({ type: "image", direction: "in" }, 1024);
    metrics.jobEvents.inc({ status: "completed", outcome: "published" });
    for (const queue of ["media", "dlq"])
      for (const state of ["visible", "in_flight", "delayed"]) metrics.queueMessages.set({ queue, state }, 0);
    const text = await metrics.registry.metrics();
    for (const name of [
      "media_jobs_total",
      "media_job_duration_seconds_bucket",
      "media_jobs_in_flight",
      "media_job_errors_total",
      "media_bytes_total",
      "media_queue_messages",
      "media_job_events_total",
      "process_cpu_seconds_total",
    ]) {
      assert.match(text, new RegExp(`^${name}\\{?`, "m"), `${name} exposed`);
    }
    const result = run(["check", "metrics"], text);
    // Exit 1 is a parse error; exit 3 lists lint problems, which prom-client's default nodejs_*
    // gauges have (a `_total` suffix on gauges) and which are not ours to rename.
    assert.doesNotMatch(result.output, /error while linting|parsing error/);
    assert.ok(result.status === 0 || result.status === 3, result.output);
    const ours = result.output.split("\n").filter((line) => line.startsWith("media_"));
    assert.deepEqual(ours, [], "lint problems in the media_* metrics");
  });

  test("the alert rules load", () => {
    const result = run(["check", "rules", ALERTS]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /SUCCESS: 9 rules found/);
  });

  test("the compose Prometheus config loads, with its rule file", () => {
    const config = readFileSync(path.join(ROOT, "deploy/compose/prometheus/prometheus.yml"), "utf8").replace(
      "/etc/prometheus/alerts.yml",
      ALERTS,
    );
    const result = run(["check", "config", write("prometheus.yml", config)]);
    assert.equal(result.status, 0, result.output);
  });

  test("every dashboard query and the KEDA query compile", () => {
    const expressions = [...dashboardExpressions(), { title: "keda", expr: kedaQuery() }];
    assert.ok(expressions.length >= 12, `found ${expressions.length} expressions`);
    const rules = {
      groups: [
        {
          name: "dashboard",
          rules: expressions.map((entry, index) => ({ record: `dashboard:expr_${index}`, expr: entry.expr })),
        },
      ],
    };
    const result = run(["check", "rules", write("dashboard-rules.yaml", stringify(rules))]);
    assert.equal(
      result.status,
      0,
      `${result.output}\n${expressions.map((entry) => `${entry.title}: ${entry.expr}`).join("\n")}`,
    );
  });

  test("alerts and the KEDA query count a queue once however many workers report it", () => {
    // Two workers in namespace media report the same queue depth; a third scrape is the API.
    const series = (queue: string, state: string, instance: string, values: string) => ({
      series: `media_queue_messages{queue="${queue}", state="${state}", namespace="media", instance="${instance}"}`,
      values,
    });
    const tests = {
      rule_files: [ALERTS],
      evaluation_interval: "1m",
      tests: [
        {
          interval: "1m",
          input_series: [
            series("dlq", "visible", "w1", "3x20"),
            series("dlq", "visible", "w2", "3x20"),
            series("media", "visible", "w1", "4x20"),
            series("media", "visible", "w2", "4x20"),
            series("media", "in_flight", "w1", "2x20"),
            series("media", "in_flight", "w2", "2x20"),
            // Jobs finish for the first 5 minutes, then nothing completes.
            {
              series: 'media_jobs_total{type="image", status="completed", namespace="media", instance="w1"}',
              values: "0+1x5 5x15",
            },
          ],
          promql_expr_test: [{ expr: kedaQuery(), eval_time: "2m", exp_samples: [{ labels: "{}", value: 6 }] }],
          alert_rule_test: [
            { eval_time: "4m", alertname: "MediaDeadLetterQueueNotEmpty", exp_alerts: [] },
            {
              eval_time: "6m",
              alertname: "MediaDeadLetterQueueNotEmpty",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", namespace: "media" },
                  exp_annotations: {
                    summary: "3 media message(s) in the dead-letter queue",
                    description:
                      "Uploads failed transiently more than MAX_PROCESSING_RETRIES times (or, with job events on, their finished job's event could not be published) and were moved to the DLQ. Look up their jobs in the API, fix the cause, then redrive them.",
                  },
                },
              ],
            },
            // Completions stop at 5m; the 10m rate reaches zero at 15m; the alert waits 10m more.
            { eval_time: "14m", alertname: "MediaQueueStalled", exp_alerts: [] },
          ],
        },
        {
          interval: "1m",
          // Publishing fails from minute 5 on; the alert waits 10 minutes before firing.
          input_series: [
            {
              series:
                'media_job_events_total{status="completed", outcome="published", namespace="media", instance="w1"}',
              values: "0+2x30",
            },
            {
              series: 'media_job_events_total{status="completed", outcome="failed", namespace="media", instance="w1"}',
              values: "0x5 1+1x25",
            },
          ],
          alert_rule_test: [
            { eval_time: "14m", alertname: "MediaJobEventsFailing", exp_alerts: [] },
            {
              eval_time: "17m",
              alertname: "MediaJobEventsFailing",
              exp_alerts: [
                {
                  exp_labels: { severity: "warning", namespace: "media" },
                  exp_annotations: {
                    summary: "Job events are not reaching the SNS topic",
                    description:
                      "Publishing to MEDIA_PROCESSING_TOPIC_ARN fails (missing topic, sns:Publish denied, SNS outage). Finished jobs keep their messages until the event is out, so the queue grows and messages may reach the DLQ; redrive them once SNS works.",
                  },
                },
              ],
            },
          ],
        },
        {
          interval: "1m",
          // Two lanes: the quick workers (w1, w2) report both lanes' queues and finish quick jobs;
          // no video worker runs, so the video lane's backlog never moves.
          input_series: [
            ...["w1", "w2"].flatMap((instance) => [
              {
                series: `media_lane_queue_messages{lane="quick", state="visible", namespace="media", instance="${instance}"}`,
                values: "5x30",
              },
              {
                series: `media_lane_queue_messages{lane="video", state="visible", namespace="media", instance="${instance}"}`,
                values: "2x30",
              },
            ]),
            {
              series: 'media_lane_jobs_total{lane="quick", status="completed", namespace="media", instance="w1"}',
              values: "0+3x30",
            },
          ],
          alert_rule_test: [
            { eval_time: "9m", alertname: "MediaLaneStalled", exp_alerts: [] },
            {
              eval_time: "11m",
              alertname: "MediaLaneStalled",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical", namespace: "media", lane: "video" },
                  exp_annotations: {
                    summary: "Lane video has waiting messages but no job finished in it in 10 minutes",
                    description:
                      "No worker of this lane is consuming: check the lane's worker Deployment and KEDA ScaledObject (<release>-media-processor-worker-video), that its pods reach SQS and Redis (/readyz), and their logs.",
                  },
                },
              ],
            },
          ],
        },
        {
          interval: "1m",
          // A worker that never finished a job exports no media_jobs_total series at all.
          input_series: [series("media", "visible", "w1", "7x30")],
          alert_rule_test: [
            { eval_time: "9m", alertname: "MediaQueueStalled", exp_alerts: [] },
            {
              eval_time: "11m",
              alertname: "MediaQueueStalled",
              exp_alerts: [
                {
                  exp_labels: { severity: "critical", namespace: "media" },
                  exp_annotations: {
                    summary: "Media queue has waiting messages but no job finished in 10 minutes",
                    description:
                      "No worker is consuming: check that workers run (KEDA ScaledObject, replicas), that they reach SQS and Redis (/readyz), and the worker logs.",
                  },
                },
              ],
            },
          ],
        },
      ],
    };
    const result = run(["test", "rules", write("alerts.test.yaml", stringify(tests))]);
    assert.equal(result.status, 0, result.output);
  });
});
