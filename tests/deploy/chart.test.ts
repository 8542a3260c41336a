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
  env?: Array<{ name: string; value?: string }>;
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

/** The environment a pod sees: ConfigMap data plus Secret data, both loaded with envFrom, then the container's own env (which wins, as in Kubernetes). */
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
  for (const variable of container.env ?? []) if (variable.value !== undefined) env[variable.name] = variable.value;
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
      const worker = find(objects, "Deployment", "mp-worker-quick");
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
      assert.equal(deployment(worker).template.metadata.annotations?.["example.com/team"], "media");

      const spec = scaledObject(find(objects, "ScaledObject", "mp-worker-quick"));
      assert.equal(spec.maxReplicaCount, 40, "a lane without its own maximum takes autoscaling.keda's");
      assert.equal(spec.triggers[0]?.metadata.queueLength, "4", "per-replica target follows the lane's concurrency");
      assert.equal(spec.triggers[0]?.metadata.activationQueueLength, "2");
      assert.equal(
        spec.triggers[0]?.authenticationRef?.name,
        "mp-worker",
        "one TriggerAuthentication serves every lane",
      );
      assert.deepEqual(find(objects, "TriggerAuthentication", "mp-worker").spec, {
        podIdentity: { provider: "aws", roleArn: "arn:aws:iam::123456789012:role/keda-media-queue-reader" },
      });
    });

    test("api.publicS3Endpoint reaches the API as the endpoint its presigned URLs are signed for", () => {
      const config = loadApiConfig(podEnv(objects, onlyContainer(find(objects, "Deployment", "mp-api"))));
      assert.equal(config.api.publicS3Endpoint, "https://s3.media.example.com");
    });

    test("extraConfig reaches the pods, but never overrides what the chart derives", () => {
      assert.equal(find(objects, "ConfigMap", "mp").data?.MEDIA_PROCESSOR_CONCURRENCY, "3");
      const env = podEnv(objects, onlyContainer(find(objects, "Deployment", "mp-worker-quick")));
      assert.equal(env.ENABLE_HLS_TRANSCODING, "false");
      assert.equal(env.IMAGE_AVIF_EFFORT, "4");
      assert.equal(env.MEDIA_PROCESSOR_CONCURRENCY, "4", "the lane's own concurrency");
      const config = loadConfig(env);
      assert.equal(config.video.hlsEnabled, false);
      assert.equal(config.image.avifEffort, 4);
      assert.equal(config.queue.concurrency, 4);
      assert.equal(config.queue.maxReceives, 5);
      assert.equal(config.queue.visibilityTimeoutSec, 600);
      assert.equal(config.storage.outputBucket, "media-derived");
      assert.deepEqual(config.storage.sourceBuckets, ["media-uploads", "media-imports"]);
      assert.equal(config.storage.maxInputBytes, 5_368_709_120);
      assert.equal(config.jobs.processingTimeoutMs, 600_000, "the quick lane's own timeout");
    });
  });

  describe("lanes (ci/all-features-values.yaml: quick and video)", () => {
    const objects = skip ? [] : render(values("all-features-values.yaml"));
    const lanes = [
      {
        name: "quick",
        queue: "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing",
        concurrency: 4,
        timeoutSeconds: 600,
      },
      {
        name: "video",
        queue: "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing-video",
        concurrency: 1,
        timeoutSeconds: 1800,
      },
    ];

    test("one worker Deployment, ScaledObject and PDB per lane, named after it, and no lane-less worker", () => {
      for (const kind of ["Deployment", "ScaledObject", "PodDisruptionBudget"]) {
        assert.deepEqual(
          objects
            .filter(
              (object) => object.kind === kind && object.metadata.labels?.["app.kubernetes.io/component"] === "worker",
            )
            .map((object) => object.metadata.name)
            .sort(),
          ["mp-worker-quick", "mp-worker-video"],
          kind,
        );
      }
      assert.equal(
        objects.some(
          (object) =>
            object.kind !== "TriggerAuthentication" &&
            object.kind !== "NetworkPolicy" &&
            object.metadata.name === "mp-worker",
        ),
        false,
      );
    });

    test("each lane's ScaledObject scales its own Deployment on its own queue, one replica per concurrent job", () => {
      for (const lane of lanes) {
        const spec = scaledObject(find(objects, "ScaledObject", `mp-worker-${lane.name}`));
        assert.equal(spec.scaleTargetRef.name, `mp-worker-${lane.name}`);
        assert.equal(spec.triggers.length, 1);
        assert.equal(spec.triggers[0]?.type, "aws-sqs-queue");
        assert.equal(spec.triggers[0]?.metadata.queueURL, lane.queue, lane.name);
        assert.equal(spec.triggers[0]?.metadata.queueLength, String(lane.concurrency), lane.name);
        assert.equal(
          spec.triggers[0]?.metadata.scaleOnInFlight,
          "true",
          "busy replicas count, so they are not scaled in",
        );
      }
      const video = scaledObject(find(objects, "ScaledObject", "mp-worker-video"));
      assert.deepEqual([video.minReplicaCount, video.maxReplicaCount], [0, 10]);
      assert.equal(
        video.triggers[0]?.metadata.activationQueueLength,
        "0",
        "a lane's explicit 0 beats the chart-wide 2",
      );
      assert.equal(
        scaledObject(find(objects, "ScaledObject", "mp-worker-quick")).triggers[0]?.metadata.activationQueueLength,
        "2",
      );
      assert.equal((video as unknown as { cooldownPeriod: number }).cooldownPeriod, 900);
    });

    test("each lane's pods drain for the lane's own job timeout, and Kubernetes waits that long plus the margin", () => {
      for (const lane of lanes) {
        const worker = find(objects, "Deployment", `mp-worker-${lane.name}`);
        const env = podEnv(objects, onlyContainer(worker));
        assert.equal(env.WORKER_LANES, lane.name);
        assert.equal(env.PROCESSING_TIMEOUT, `${lane.timeoutSeconds}s`);
        assert.equal(env.SHUTDOWN_GRACE_PERIOD, `${lane.timeoutSeconds}s`);
        assert.equal(
          deployment(worker).template.spec.terminationGracePeriodSeconds,
          lane.timeoutSeconds + 45,
          lane.name,
        );
        const config = loadConfig(env);
        assert.equal(config.jobs.processingTimeoutMs, lane.timeoutSeconds * 1000);
        assert.equal(config.queue.shutdownGraceMs, lane.timeoutSeconds * 1000);
        assert.equal(config.queue.concurrency, lane.concurrency);
      }
    });

    test("the video lane gets its own resources, scratch space and scheduling; the quick lane keeps worker.*", () => {
      const video = deployment(find(objects, "Deployment", "mp-worker-video")).template.spec as PodSpec & {
        nodeSelector?: Record<string, string>;
        tolerations?: Array<{ key: string }>;
        priorityClassName?: string;
      };
      assert.deepEqual(video.containers[0]?.resources, {
        requests: { cpu: "2", memory: "2Gi" },
        limits: { cpu: "4", memory: "4Gi" },
      });
      assert.equal(video.volumes?.[0]?.emptyDir?.sizeLimit, "40Gi");
      assert.deepEqual(video.nodeSelector, { "example.com/pool": "transcode" });
      assert.equal(video.tolerations?.[0]?.key, "example.com/transcode");
      assert.equal(video.priorityClassName, "media-batch", "unset lane fields fall back to worker.*");
      const quick = deployment(find(objects, "Deployment", "mp-worker-quick")).template.spec as PodSpec & {
        nodeSelector?: Record<string, string>;
      };
      assert.deepEqual(quick.containers[0]?.resources, {
        requests: { cpu: "1", memory: "1Gi" },
        limits: { cpu: "2", memory: "2Gi" },
      });
      assert.equal(quick.volumes?.[0]?.emptyDir?.sizeLimit, "20Gi");
      assert.equal(quick.nodeSelector, undefined);
      for (const name of ["mp-worker-quick", "mp-worker-video"]) assertRestricted(find(objects, "Deployment", name));
    });

    test("each Deployment selects only its lane's pods; the metrics Service, NetworkPolicy and spread select every worker", () => {
      const podLabels = lanes.map(
        (lane) => deployment(find(objects, "Deployment", `mp-worker-${lane.name}`)).template.metadata.labels,
      );
      const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
        Object.entries(selector).every(([key, value]) => labels[key] === value);
      for (const [index, lane] of lanes.entries()) {
        const selector = deployment(find(objects, "Deployment", `mp-worker-${lane.name}`)).selector.matchLabels;
        assert.deepEqual(
          podLabels.map((labels) => matches(selector, labels)),
          lanes.map((_, other) => other === index),
          `${lane.name}'s selector`,
        );
        const budget = find(objects, "PodDisruptionBudget", `mp-worker-${lane.name}`).spec as {
          selector: { matchLabels: Record<string, string> };
        };
        assert.deepEqual(budget.selector.matchLabels, selector, "the lane's budget covers the lane's pods");
      }
      const metrics = (find(objects, "Service", "mp-worker-metrics").spec as { selector: Record<string, string> })
        .selector;
      const policy = (
        find(objects, "NetworkPolicy", "mp-worker").spec as { podSelector: { matchLabels: Record<string, string> } }
      ).podSelector.matchLabels;
      for (const labels of podLabels) {
        assert.ok(matches(metrics, labels), "Prometheus scrapes every lane's pods");
        assert.ok(matches(policy, labels), "the NetworkPolicy fences every lane's pods");
      }
    });

    test("the ConfigMap describes every lane, entry lane first, in the variables the worker reads", () => {
      const data = find(objects, "ConfigMap", "mp").data ?? {};
      const entries = (text: string | undefined) =>
        Object.fromEntries((text ?? "").split(";").map((entry) => entry.split("=") as [string, string]));
      assert.equal(data.MEDIA_LANES, "quick=image,document,audio;video=video");
      assert.deepEqual(
        entries(data.MEDIA_LANE_QUEUE_URLS),
        Object.fromEntries(lanes.map((lane) => [lane.name, lane.queue])),
      );
      assert.equal(
        entries(data.MEDIA_LANE_QUEUE_URLS).quick,
        data.MEDIA_PROCESSING_QUEUE_URL,
        "the entry lane is queue.url",
      );
      assert.deepEqual(
        entries(data.MEDIA_LANE_CONCURRENCY),
        Object.fromEntries(lanes.map((lane) => [lane.name, String(lane.concurrency)])),
      );
      // The lane variables are declared by the lanes work of issue 16 (src/config); until both are
      // merged ENV_DOCS may not have them yet, so they are named here.
      const laneVariables = ["MEDIA_LANES", "MEDIA_LANE_QUEUE_URLS", "MEDIA_LANE_CONCURRENCY", "WORKER_LANES"];
      const unknown = [
        ...Object.keys(data),
        ...(onlyContainer(find(objects, "Deployment", "mp-worker-video")).env ?? []).map((variable) => variable.name),
      ].filter(
        (name) =>
          !(name in ENV_DOCS) &&
          !(name in API_ENV_DOCS) &&
          name !== "MALLOC_ARENA_MAX" &&
          !laneVariables.includes(name),
      );
      assert.deepEqual(unknown, []);
    });
  });

  describe("lanes: validation and alternatives", () => {
    const twoLanes = (video: Record<string, unknown>) => [
      ...values("minimal-values.yaml"),
      "--set-json",
      `lanes=${JSON.stringify([
        { name: "quick", media: ["image", "document", "audio"] },
        { name: "video", media: ["video"], ...video },
      ])}`,
    ];
    const videoQueue = "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing-video";

    test("without lanes nothing is lane-specific: no lane label, no WORKER_LANES, no MEDIA_LANES", () => {
      const objects = render(values("minimal-values.yaml"));
      assert.equal(
        objects.some((object) => object.metadata.labels?.["media-processor/lane"] !== undefined),
        false,
      );
      const worker = find(objects, "Deployment", "rel-media-processor-worker");
      assert.equal(onlyContainer(worker).env, undefined);
      assert.equal(
        deployment(worker).selector.matchLabels["media-processor/lane"],
        undefined,
        "today's selector, unchanged",
      );
      assert.equal(find(objects, "ConfigMap", "rel-media-processor").data?.MEDIA_LANES, undefined);
    });

    test("a lane's values default to the chart-wide ones", () => {
      const objects = render(twoLanes({ queueUrl: videoQueue }));
      for (const lane of ["quick", "video"]) {
        const worker = find(objects, "Deployment", `rel-media-processor-worker-${lane}`);
        assert.equal(deployment(worker).template.spec.terminationGracePeriodSeconds, 900 + 30);
        assert.equal(podEnv(objects, onlyContainer(worker)).MEDIA_PROCESSOR_CONCURRENCY, "2");
        const spec = scaledObject(find(objects, "ScaledObject", `rel-media-processor-worker-${lane}`));
        assert.deepEqual([spec.minReplicaCount, spec.maxReplicaCount], [0, 20]);
        assert.equal(spec.triggers[0]?.metadata.queueLength, "2");
      }
      assert.equal(find(objects, "ConfigMap", "rel-media-processor").data?.MEDIA_LANE_CONCURRENCY, "quick=2;video=2");
    });

    test("every lane but the first needs a queue of its own, and each kind belongs to one lane", () => {
      const noQueue = helmTemplate(helm!, twoLanes({}));
      assert.equal(noQueue.ok, false);
      if (!noQueue.ok) assert.match(noQueue.error, /lanes\[1\] \(video\): queueUrl is required/);
      const shared = helmTemplate(
        helm!,
        twoLanes({ queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/media-processing" }),
      );
      assert.equal(shared.ok, false);
      if (!shared.ok) assert.match(shared.error, /two lanes share the queue/);
      const twice = helmTemplate(helm!, twoLanes({ queueUrl: videoQueue, media: ["video", "image"] }));
      assert.equal(twice.ok, false);
      if (!twice.ok) assert.match(twice.error, /media kind "image" is in two lanes/);
      const badKind = helmTemplate(helm!, twoLanes({ queueUrl: videoQueue, media: ["movie"] }));
      assert.equal(badKind.ok, false, "the schema knows the media kinds");
      const badName = helmTemplate(helm!, twoLanes({ queueUrl: videoQueue, name: "Video Lane" }));
      assert.equal(badName.ok, false, "lane names are what the worker accepts");
    });

    test("the prometheus trigger reads each lane's own queue gauge, and needs one lane that never scales to zero", () => {
      const args = [
        ...twoLanes({ queueUrl: videoQueue }),
        "--set",
        "autoscaling.keda.trigger=prometheus",
        "--namespace",
        "media",
      ];
      const refused = helmTemplate(helm!, args);
      assert.equal(refused.ok, false, "both lanes at minReplicaCount 0: nothing would report a backlog");
      if (!refused.ok) assert.match(refused.error, /needs minReplicaCount >= 1 on at least one lane/);
      // Every worker exports every lane's gauge, so a running quick lane wakes the video lane from zero.
      const objects = render([
        ...values("minimal-values.yaml"),
        "--set-json",
        `lanes=${JSON.stringify([
          { name: "quick", media: ["image", "document", "audio"], autoscaling: { minReplicaCount: 1 } },
          { name: "video", media: ["video"], queueUrl: videoQueue },
        ])}`,
        "--set",
        "autoscaling.keda.trigger=prometheus",
        "--namespace",
        "media",
      ]);
      for (const [lane, minimum] of [
        ["quick", 1],
        ["video", 0],
      ] as const) {
        const spec = scaledObject(find(objects, "ScaledObject", `rel-media-processor-worker-${lane}`));
        assert.equal(spec.minReplicaCount, minimum);
        const [trigger] = spec.triggers;
        assert.equal(trigger?.type, "prometheus");
        assert.equal(
          trigger?.metadata.query,
          `sum(max by (state) (media_lane_queue_messages{lane="${lane}", state=~"visible|in_flight", namespace="media"}))`,
        );
      }
    });

    test("with KEDA off each lane gets its own CPU HPA", () => {
      const objects = render([...twoLanes({ queueUrl: videoQueue }), "--set", "autoscaling.keda.enabled=false"]);
      assert.deepEqual(
        objects
          .filter((object) => object.kind === "HorizontalPodAutoscaler")
          .map((object) => (object.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name)
          .sort(),
        ["rel-media-processor-worker-quick", "rel-media-processor-worker-video"],
      );
      assert.equal(
        objects.some((object) => object.kind === "ScaledObject" || object.kind === "TriggerAuthentication"),
        false,
      );
    });

    test("a long release name shortens the prefix, never the lane, so lanes keep distinct names", () => {
      const objects = render([...twoLanes({ queueUrl: videoQueue }), "--set", `fullnameOverride=${"m".repeat(70)}`]);
      const names = objects
        .filter(
          (object) =>
            object.kind === "Deployment" && object.metadata.labels?.["app.kubernetes.io/component"] === "worker",
        )
        .map((object) => object.metadata.name);
      assert.equal(names.length, 2);
      for (const name of names) assert.ok(name.length <= 63, name);
      assert.deepEqual(names.map((name) => name.split("-").at(-1)).sort(), ["quick", "video"]);
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
