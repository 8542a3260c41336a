import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { isMap, isScalar, parse as parseYaml, parseDocument, type YAMLMap } from "yaml";
import { loadApiConfig, loadConfig } from "../../src/config/config.ts";
import { API_ENV_DOCS, ENV_DOCS } from "../../src/config/config.schema.ts";
import { CHART_DIR, findHelm, helmLint, helmTemplate, type K8sObject } from "./helm.ts";

/**
 * The Helm chart rendered by the real `helm template` and read back as the API server would:
 * each values file must produce exactly the resources and settings it asks for, and the
 * ConfigMap + Secret must be a configuration the worker's own loader accepts.
 */

const helm = findHelm();
const skip =
  helm === undefined ? "helm not found (run scripts/check-deploy.sh, which installs it with go install)" : false;
const values = (name: string) => ["-f", path.join(CHART_DIR, "ci", name)];

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
  containers: Container[];
  volumes?: Array<{ name: string; emptyDir?: { sizeLimit?: string; medium?: string } }>;
}
interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
}
interface Trigger {
  type: string;
  metadata: Record<string, string>;
  authenticationRef?: { name: string };
}
interface ScaledObjectSpec {
  scaleTargetRef: { name: string };
  minReplicaCount: number;
  maxReplicaCount: number;
  triggers: Trigger[];
  advanced?: { horizontalPodAutoscalerConfig?: { behavior?: { scaleDown?: { stabilizationWindowSeconds?: number } } } };
}

function render(args: string[]): K8sObject[] {
  const result = helmTemplate(helm!, args);
  if (!result.ok) assert.fail(`helm template failed:\n${result.error}`);
  return result.objects;
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(
    found,
    `${kind}/${name} not rendered; got ${objects.map((object) => `${object.kind}/${object.metadata.name}`).join(", ")}`,
  );
  return found;
}

function kinds(objects: K8sObject[]): string[] {
  return objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();
}

const deployment = (object: K8sObject) => object.spec as unknown as DeploymentSpec;
const onlyContainer = (object: K8sObject): Container => {
  const containers = deployment(object).template.spec.containers;
  assert.equal(containers.length, 1);
  return containers[0]!;
};
const scaledObject = (object: K8sObject) => object.spec as unknown as ScaledObjectSpec;

/** The environment a pod sees: ConfigMap data plus Secret data, both loaded with envFrom. */
function podEnv(objects: K8sObject[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, find(objects, "ConfigMap", source.configMapRef.name).data);
    if (source.secretRef) {
      const secret = objects.find(
        (object) => object.kind === "Secret" && object.metadata.name === source.secretRef!.name,
      );
      if (secret) Object.assign(env, secret.stringData);
    }
  }
  return env;
}

/** Settings a restricted Pod Security Standard namespace enforces, checked on every container. */
function assertRestricted(object: K8sObject): void {
  const spec = deployment(object).template.spec;
  assert.equal(spec.securityContext?.runAsNonRoot, true, `${object.metadata.name}: pod runAsNonRoot`);
  assert.equal(spec.securityContext?.seccompProfile?.type, "RuntimeDefault");
  assert.equal(spec.automountServiceAccountToken, false);
  for (const container of spec.containers) {
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext?.capabilities?.drop, ["ALL"]);
    assert.ok(
      container.resources?.limits?.memory && container.resources.limits.cpu,
      `${container.name}: cpu and memory limits`,
    );
    assert.ok(container.resources?.requests?.memory && container.resources.requests.cpu, `${container.name}: requests`);
  }
}

test("every value in values.yaml is documented with a `# --` comment (helm-docs style)", () => {
  const document = parseDocument(readFileSync(path.join(CHART_DIR, "values.yaml"), "utf8"));
  const undocumented: string[] = [];
  // A documented key covers its whole subtree (resources, probes); otherwise its children must be.
  const walk = (map: YAMLMap, prefix: string, inherited: string | null | undefined) => {
    for (const [index, pair] of map.items.entries()) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "?";
      let comment = (pair.key as { commentBefore?: string | null }).commentBefore;
      if (index === 0 && !comment) comment = map.commentBefore ?? inherited;
      const keyPath = prefix ? `${prefix}.${key}` : key;
      if (comment?.split("\n").some((line) => line.trim().startsWith("--"))) continue;
      if (isMap(pair.value) && pair.value.items.length > 0) walk(pair.value, keyPath, undefined);
      else undocumented.push(keyPath);
    }
  };
  assert.ok(isMap(document.contents));
  walk(document.contents as YAMLMap, "", document.commentBefore);
  assert.deepEqual(undocumented, []);
});

describe("helm chart", { skip }, () => {
  test("helm lint --strict passes on the defaults and on every ci values file", () => {
    const files = readdirSync(path.join(CHART_DIR, "ci")).filter((file) => file.endsWith("-values.yaml"));
    assert.ok(files.length >= 4, `ci values files: ${files.join(", ")}`);
    for (const args of [[], ...files.map((file) => values(file))]) {
      const lint = helmLint(helm!, args);
      assert.ok(lint.ok, `helm lint ${args.join(" ")}:\n${lint.output}`);
    }
  });

  test("without the required values the install fails and names them", () => {
    const result = helmTemplate(helm!, []);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(result.error, /queue\.url is required/);
  });

  test("the schema refuses a misspelt key and a wrong type", () => {
    const typo = helmTemplate(helm!, [...values("minimal-values.yaml"), "--set", "worker.tempVolum.sizeLimit=1Gi"]);
    assert.equal(typo.ok, false);
    if (!typo.ok) assert.match(typo.error, /tempVolum/);
    const badTrigger = helmTemplate(helm!, [...values("minimal-values.yaml"), "--set", "autoscaling.keda.trigger=cpu"]);
    assert.equal(badTrigger.ok, false);
    const zeroConcurrency = helmTemplate(helm!, [
      ...values("minimal-values.yaml"),
      "--set",
      "processing.concurrency=0",
    ]);
    assert.equal(zeroConcurrency.ok, false);
  });

  describe("minimal values (every default except the required ones)", () => {
    const objects = skip ? [] : render(values("minimal-values.yaml"));

    test("every object is namespaced to the release", () => {
      const namespaced = render([...values("minimal-values.yaml"), "--namespace", "media"]);
      assert.deepEqual(
        namespaced.filter((object) => object.metadata.namespace !== "media").map((object) => object.kind),
        [],
      );
    });

    test("renders the worker, the API, KEDA autoscaling and nothing optional", () => {
      assert.deepEqual(kinds(objects), [
        "ConfigMap/rel-media-processor",
        "Deployment/rel-media-processor-api",
        "Deployment/rel-media-processor-worker",
        "PodDisruptionBudget/rel-media-processor-api",
        "PodDisruptionBudget/rel-media-processor-worker",
        "ScaledObject/rel-media-processor-worker",
        "Secret/rel-media-processor",
        "Service/rel-media-processor-api",
        "Service/rel-media-processor-worker-metrics",
        "ServiceAccount/rel-media-processor",
        "TriggerAuthentication/rel-media-processor-worker",
      ]);
    });

    test("the worker drains in-flight jobs for the whole processing timeout before Kubernetes kills it", () => {
      const worker = find(objects, "Deployment", "rel-media-processor-worker");
      const env = podEnv(objects, onlyContainer(worker));
      assert.equal(env.PROCESSING_TIMEOUT, "900s");
      assert.equal(env.SHUTDOWN_GRACE_PERIOD, "900s");
      assert.equal(deployment(worker).template.spec.terminationGracePeriodSeconds, 900 + 30);
    });

    test("KEDA scales the worker on SQS depth, one replica per `concurrency` messages, down to zero", () => {
      const spec = scaledObject(find(objects, "ScaledObject", "rel-media-processor-worker"));
      assert.equal(spec.scaleTargetRef.name, "rel-media-processor-worker");
      assert.equal(spec.minReplicaCount, 0);
      assert.equal(spec.triggers.length, 1);
      const [trigger] = spec.triggers;
      assert.equal(trigger?.type, "aws-sqs-queue");
      assert.equal(trigger?.metadata.queueURL, "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing");
      assert.equal(trigger?.metadata.awsRegion, "us-east-1");
      assert.equal(trigger?.metadata.queueLength, "2");
      assert.equal(trigger?.metadata.activationQueueLength, "0");
      assert.equal(trigger?.metadata.scaleOnInFlight, "true");
      assert.equal(trigger?.authenticationRef?.name, "rel-media-processor-worker");
      const auth = find(objects, "TriggerAuthentication", "rel-media-processor-worker");
      assert.deepEqual(auth.spec, { podIdentity: { provider: "aws", identityOwner: "workload" } });
      assert.equal(spec.advanced?.horizontalPodAutoscalerConfig?.behavior?.scaleDown?.stabilizationWindowSeconds, 300);
      // KEDA owns the replica count: a `replicas` field would fight it on every upgrade.
      assert.equal(deployment(find(objects, "Deployment", "rel-media-processor-worker")).replicas, undefined);
    });

    test("both Deployments run one image with a restricted security context and a sized temp volume", () => {
      const worker = find(objects, "Deployment", "rel-media-processor-worker");
      const api = find(objects, "Deployment", "rel-media-processor-api");
      assert.deepEqual(onlyContainer(worker).args, ["worker"]);
      assert.deepEqual(onlyContainer(api).args, ["api"]);
      assert.equal(onlyContainer(worker).image, "media-processor:0.1.0");
      assert.equal(onlyContainer(api).image, onlyContainer(worker).image);
      for (const object of [worker, api]) {
        assertRestricted(object);
        const spec = deployment(object).template.spec;
        const tmp = spec.volumes?.find((volume) => volume.name === "tmp");
        assert.ok(tmp?.emptyDir?.sizeLimit, "temp emptyDir has a size limit");
        const env = podEnv(objects, onlyContainer(object));
        const mount = onlyContainer(object).volumeMounts?.find((volumeMount) => volumeMount.name === "tmp");
        assert.ok(
          mount && env.TEMP_DIR?.startsWith(`${mount.mountPath}/`),
          `TEMP_DIR ${env.TEMP_DIR} lies on the writable volume`,
        );
        assert.equal(env.MALLOC_ARENA_MAX, "2");
        assert.equal(spec.serviceAccountName, "rel-media-processor");
        assert.ok(
          deployment(object).template.metadata.annotations?.["checksum/config"],
          "pods roll when the config changes",
        );
      }
      assert.equal(deployment(worker).template.spec.volumes?.[0]?.emptyDir?.sizeLimit, "10Gi");
    });

    test("probes hit /healthz and /readyz on the named ports", () => {
      const worker = onlyContainer(find(objects, "Deployment", "rel-media-processor-worker"));
      assert.deepEqual(worker.livenessProbe?.httpGet, { path: "/healthz", port: "metrics" });
      assert.deepEqual(worker.readinessProbe?.httpGet, { path: "/readyz", port: "metrics" });
      assert.deepEqual(
        worker.ports?.map((port) => [port.name, port.containerPort]),
        [["metrics", 9464]],
      );
      const api = onlyContainer(find(objects, "Deployment", "rel-media-processor-api"));
      assert.deepEqual(api.readinessProbe?.httpGet, { path: "/readyz", port: "http" });
      assert.deepEqual(
        api.ports?.map((port) => [port.name, port.containerPort]),
        [["http", 8080]],
      );
    });

    test("the ServiceAccount carries the IRSA role and the Services select the right pods", () => {
      const account = find(objects, "ServiceAccount", "rel-media-processor");
      assert.equal(
        account.metadata.annotations?.["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/media-processor",
      );
      const metrics = find(objects, "Service", "rel-media-processor-worker-metrics").spec as {
        selector: Record<string, string>;
        clusterIP: string;
      };
      assert.equal(metrics.clusterIP, "None");
      const workerLabels = deployment(find(objects, "Deployment", "rel-media-processor-worker")).template.metadata
        .labels;
      for (const [key, value] of Object.entries(metrics.selector)) assert.equal(workerLabels[key], value);
      const api = find(objects, "Service", "rel-media-processor-api").spec as { selector: Record<string, string> };
      assert.equal(api.selector["app.kubernetes.io/component"], "api");
    });

    test("the ConfigMap and Secret form a configuration the worker's own loader accepts", () => {
      const env = podEnv(objects, onlyContainer(find(objects, "Deployment", "rel-media-processor-worker")));
      const config = loadConfig(env);
      assert.equal(config.queue.queueUrl, "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing");
      assert.deepEqual(config.storage.sourceBuckets, ["media-uploads"]);
      assert.equal(config.queue.concurrency, 2);
      assert.equal(config.queue.visibilityTimeoutSec, 300);
      assert.equal(config.jobs.processingTimeoutMs, 900_000);
      assert.equal(config.queue.shutdownGraceMs, 900_000);
      assert.equal(config.storage.tempDir, "/tmp/media-processor");
      assert.equal(config.redis.url, "redis://redis-master.redis.svc:6379/0");
    });

    test("every variable the chart sets is one the app documents", () => {
      const data = find(objects, "ConfigMap", "rel-media-processor").data ?? {};
      // MALLOC_ARENA_MAX is read by the runtime (glibc); API_* by the API role, documented with it.
      const unknown = Object.keys(data).filter(
        (name) => !(name in ENV_DOCS) && !(name in API_ENV_DOCS) && name !== "MALLOC_ARENA_MAX",
      );
      assert.deepEqual(unknown, []);
      assert.equal(data.API_PUBLIC_S3_ENDPOINT, undefined, "no public S3 endpoint unless api.publicS3Endpoint is set");
    });
  });

  describe("all features on (ci/all-features-values.yaml)", () => {
    const objects = skip ? [] : render(values("all-features-values.yaml"));

    test("every template renders at least one object", () => {
      const templates = readdirSync(path.join(CHART_DIR, "templates")).filter((name) => name.endsWith(".yaml"));
      const rendered = new Set(sources(values("all-features-values.yaml")));
      const missing = templates.filter((name) => !rendered.has(name));
      // worker-hpa.yaml is the fallback when KEDA is off; ci/hpa-values.yaml renders it.
      assert.deepEqual(missing, ["worker-hpa.yaml"]);
    });

    test("optional resources appear with the values asked for", () => {
      const ingress = find(objects, "Ingress", "mp-api").spec as {
        ingressClassName: string;
        rules: Array<{ host: string }>;
        tls: Array<{ secretName: string }>;
      };
      assert.equal(ingress.ingressClassName, "nginx");
      assert.deepEqual(
        ingress.rules.map((rule) => rule.host),
        ["media-api.example.com"],
      );
      assert.equal(ingress.tls[0]?.secretName, "media-api-tls");
      const apiHpa = find(objects, "HorizontalPodAutoscaler", "mp-api").spec as {
        minReplicas: number;
        maxReplicas: number;
      };
      assert.deepEqual([apiHpa.minReplicas, apiHpa.maxReplicas], [2, 5]);
      assert.equal(deployment(find(objects, "Deployment", "mp-api")).replicas, undefined);

      const monitor = find(objects, "ServiceMonitor", "mp");
      assert.equal(monitor.metadata.labels?.release, "kube-prometheus-stack");
      const endpoints = (monitor.spec as { endpoints: Array<{ port: string; path: string }> }).endpoints;
      assert.deepEqual(
        endpoints.map((endpoint) => [endpoint.port, endpoint.path]),
        [
          ["metrics", "/metrics"],
          ["http", "/metrics"],
        ],
      );

      const rule = find(objects, "PrometheusRule", "mp");
      const alertsFile = parseYaml(
        readFileSync(path.join(CHART_DIR, "files", "prometheus-alerts.yaml"), "utf8"),
      ) as unknown;
      assert.deepEqual(rule.spec, alertsFile, "PrometheusRule carries files/prometheus-alerts.yaml unchanged");

      assert.equal(
        find(objects, "ConfigMap", "mp").data?.MEDIA_PROCESSING_TOPIC_ARN,
        "arn:aws:sns:eu-west-1:123456789012:media-job-events",
      );

      const workerPolicy = find(objects, "NetworkPolicy", "mp-worker").spec as {
        podSelector: { matchLabels: Record<string, string> };
        ingress: Array<{
          ports: Array<{ port: string }>;
          from: Array<{ namespaceSelector: { matchLabels: Record<string, string> } }>;
        }>;
      };
      assert.equal(workerPolicy.podSelector.matchLabels["app.kubernetes.io/component"], "worker");
      assert.deepEqual(
        workerPolicy.ingress[0]?.ports.map((port) => port.port),
        ["metrics"],
      );
      assert.equal(
        workerPolicy.ingress[0]?.from[0]?.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
        "monitoring",
      );
      const apiPolicy = find(objects, "NetworkPolicy", "mp-api").spec as {
        ingress: Array<{ ports: Array<{ port: string }> }>;
      };
      assert.deepEqual(
        apiPolicy.ingress[0]?.ports.map((port) => port.port),
        ["http"],
      );

      const dashboard = find(objects, "ConfigMap", "mp-dashboard");
      assert.equal(dashboard.metadata.labels?.grafana_dashboard, "1");
      assert.equal(dashboard.metadata.annotations?.grafana_folder, "media");
      const dashboardFile = JSON.parse(
        readFileSync(path.join(CHART_DIR, "files", "grafana-dashboard.json"), "utf8"),
      ) as unknown;
      assert.deepEqual(JSON.parse(dashboard.data?.["media-processor.json"] ?? "null"), dashboardFile);
    });

    test("image digest, pull secrets, scheduling and the IAM role for KEDA are applied", () => {
      const worker = find(objects, "Deployment", "mp-worker");
      const container = onlyContainer(worker);
      assert.equal(
        container.image,
        "registry.example.com/media/media-processor:1.2.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
      );
      const pod = deployment(worker).template.spec as PodSpec & {
        imagePullSecrets?: Array<{ name: string }>;
        priorityClassName?: string;
      };
      assert.deepEqual(pod.imagePullSecrets, [{ name: "regcred" }]);
      assert.equal(pod.priorityClassName, "media-batch");
      assert.equal(pod.volumes?.[0]?.emptyDir?.sizeLimit, "20Gi");
      assert.equal(pod.terminationGracePeriodSeconds, 1800 + 45);
      assert.equal(deployment(worker).template.metadata.annotations?.["example.com/team"], "media");

      const spec = scaledObject(find(objects, "ScaledObject", "mp-worker"));
      assert.equal(spec.maxReplicaCount, 40);
      assert.equal(spec.triggers[0]?.metadata.queueLength, "3", "per-replica target follows processing.concurrency");
      assert.equal(spec.triggers[0]?.metadata.activationQueueLength, "2");
      assert.deepEqual(find(objects, "TriggerAuthentication", "mp-worker").spec, {
        podIdentity: { provider: "aws", roleArn: "arn:aws:iam::123456789012:role/keda-media-queue-reader" },
      });
    });

    test("api.publicS3Endpoint reaches the API as the endpoint its presigned URLs are signed for", () => {
      const config = loadApiConfig(podEnv(objects, onlyContainer(find(objects, "Deployment", "mp-api"))));
      assert.equal(config.api.publicS3Endpoint, "https://s3.media.example.com");
    });

    test("extraConfig reaches the pods, but never overrides what the chart derives", () => {
      const env = podEnv(objects, onlyContainer(find(objects, "Deployment", "mp-worker")));
      assert.equal(env.ENABLE_HLS_TRANSCODING, "false");
      assert.equal(env.IMAGE_AVIF_EFFORT, "4");
      assert.equal(env.MEDIA_PROCESSOR_CONCURRENCY, "3");
      const config = loadConfig(env);
      assert.equal(config.video.hlsEnabled, false);
      assert.equal(config.image.avifEffort, 4);
      assert.equal(config.queue.concurrency, 3);
      assert.equal(config.queue.maxReceives, 5);
      assert.equal(config.queue.visibilityTimeoutSec, 600);
      assert.equal(config.storage.outputBucket, "media-derived");
      assert.deepEqual(config.storage.sourceBuckets, ["media-uploads", "media-imports"]);
      assert.equal(config.storage.maxInputBytes, 5_368_709_120);
      assert.equal(config.jobs.processingTimeoutMs, 1_800_000);
    });
  });

  describe("alternatives", () => {
    test("the prometheus trigger uses the max over workers of the queue gauge in the release's namespace", () => {
      const objects = render([...values("prometheus-trigger-values.yaml"), "--namespace", "media"]);
      const spec = scaledObject(find(objects, "ScaledObject", "rel-media-processor-worker"));
      assert.equal(spec.minReplicaCount, 1);
      const [trigger] = spec.triggers;
      assert.equal(trigger?.type, "prometheus");
      assert.equal(trigger?.metadata.serverAddress, "http://prometheus.monitoring.svc:9090");
      assert.equal(
        trigger?.metadata.query,
        'sum(max by (state) (media_queue_messages{queue="media", state=~"visible|in_flight", namespace="media"}))',
      );
      assert.equal(trigger?.metadata.threshold, "2");
      assert.equal(
        objects.some((object) => object.kind === "TriggerAuthentication"),
        false,
      );
      // existingSecret: no Secret rendered, pods load the named one.
      assert.equal(
        objects.some((object) => object.kind === "Secret"),
        false,
      );
      const container = onlyContainer(find(objects, "Deployment", "rel-media-processor-worker"));
      assert.ok(container.envFrom?.some((source) => source.secretRef?.name === "media-processor-credentials"));
    });

    test("the prometheus trigger refuses scale-to-zero, which would never wake up", () => {
      const result = helmTemplate(helm!, [
        ...values("prometheus-trigger-values.yaml"),
        "--set",
        "autoscaling.keda.minReplicaCount=0",
      ]);
      assert.equal(result.ok, false);
      if (!result.ok) assert.match(result.error, /needs minReplicaCount >= 1/);
    });

    test("with KEDA off the worker gets a CPU HPA, and a short grace when not draining", () => {
      const objects = render(values("hpa-values.yaml"));
      assert.equal(
        objects.some((object) => object.kind === "ScaledObject" || object.kind === "TriggerAuthentication"),
        false,
      );
      assert.equal(
        objects.some((object) => object.metadata.name.endsWith("-api")),
        false,
        "api.enabled=false removes every API object",
      );
      const hpa = find(objects, "HorizontalPodAutoscaler", "rel-media-processor-worker").spec as {
        scaleTargetRef: { kind: string; name: string };
        metrics: Array<{ resource: { name: string; target: { averageUtilization: number } } }>;
      };
      assert.deepEqual(hpa.scaleTargetRef, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "rel-media-processor-worker",
      });
      assert.equal(hpa.metrics[0]?.resource.name, "cpu");
      assert.equal(hpa.metrics[0]?.resource.target.averageUtilization, 70);
      const worker = find(objects, "Deployment", "rel-media-processor-worker");
      assert.equal(deployment(worker).replicas, undefined);
      assert.equal(podEnv(objects, onlyContainer(worker)).SHUTDOWN_GRACE_PERIOD, "40s");
      assert.equal(deployment(worker).template.spec.terminationGracePeriodSeconds, 40 + 30);
    });

    test("with no autoscaler the worker Deployment states its replica count", () => {
      const objects = render([
        ...values("hpa-values.yaml"),
        "--set",
        "autoscaling.hpa.enabled=false",
        "--set",
        "worker.replicaCount=3",
      ]);
      assert.equal(
        objects.some((object) => object.kind === "HorizontalPodAutoscaler"),
        false,
      );
      assert.equal(deployment(find(objects, "Deployment", "rel-media-processor-worker")).replicas, 3);
    });
  });
});

/** Template file names helm reports in its `# Source:` comments. */
function sources(args: string[]): string[] {
  const result = helmTemplate(helm!, args);
  if (!result.ok) return [];
  return Array.from(result.text.matchAll(/^# Source: media-processor\/templates\/(.+)$/gm), (match) => match[1]!);
}
