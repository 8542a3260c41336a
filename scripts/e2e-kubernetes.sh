#!/usr/bin/env bash
# Installs the Helm chart on a real single-node Kubernetes cluster started on this machine and
# checks that what we ship works there, KEDA scaling included:
#   binaries     Kubernetes 1.34, CoreDNS, KEDA, Prometheus built once from Go modules (cached)
#   images       the Dockerfile built on a Docker Engine (as e2e-compose.sh), plus one-layer
#                images of the cluster's own binaries, imported into the node's containerd
#   cluster      etcd, API server (with the aggregation layer), controller manager, scheduler,
#                containerd, kubelet, kube-proxy, CoreDNS; KEDA's operator and metrics adapter
#                from KEDA's own manifests; Prometheus scraping the workers; Redis and the S3+SQS
#                emulator as pods
#   chart        helm install with the defaults (+ scripts/engines/kubernetes/values-e2e.yaml):
#                uploads processed; KEDA's aws-sqs-queue trigger (awsEndpoint → emulator) scales
#                the workers from zero on a burst and back to zero with no running job cut;
#                helm upgrade rolls the workers mid-job without losing one; the prometheus
#                trigger (Prometheus → metrics adapter → HPA) scales up and back to its minimum;
#                then helm install with ci/all-features-values.yaml: every optional resource is
#                accepted by the API server, each of its two lanes (quick, video) has its own
#                Deployment and a Ready ScaledObject on its own queue, every kind of upload is
#                processed on its lane's pods, and outputs land in the separate output bucket
# and tears everything down (pods, cluster processes, mounts, the dockerd it started, the host's
# sysctls, iptables rules and links as they were).
# Every request goes to 127.0.0.1, to the cluster's own API server and kubelet on the node's
# bridge, or to the Services and pods this script created; pods cannot reach off the machine.
#
#   bash scripts/e2e-kubernetes.sh       (E2E_KEEP=1 leaves the cluster up: KUBECONFIG is printed)
#
# On a pass it records the tree hash of what it tested in .ci/kubernetes-e2e.passed, which
# .ci/run compares to decide whether the (slow) Kubernetes e2e must run again.
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/engines/lib.sh
source scripts/engines/host-state.sh
source scripts/engines/docker-engine.sh
source scripts/engines/base-images.sh
source scripts/engines/cluster.sh

HELM_VERSION="v3.22.0"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"
MANIFESTS="scripts/engines/kubernetes"
CHART="charts/media-processor"
NS="media"
RELEASE="media"
WORK="$(mktemp -d /tmp/media-e2e-kubernetes.XXXXXX)"
BUCKET="media-uploads"
RUN_PREFIX="tenants/t1/users/u1/media/k8s-$(date +%s)"
export GOBIN="${GOBIN:-$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin}"
export PATH="$GOBIN:$PATH"
# Helm keeps its caches and settings with this run, not in the home folder (its Kubernetes
# client would also write a discovery cache under ~/.kube).
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
helm() { HOME="$WORK/helm" command helm "$@"; }

TORN_DOWN=0
teardown() {
  [ "$TORN_DOWN" = 1 ] && return
  TORN_DOWN=1
  if [ "${E2E_KEEP:-0}" = 1 ] && [ -e "$CLUSTER_DIR/admin.kubeconfig" ]; then
    log "E2E_KEEP=1: cluster left running; export KUBECONFIG=$CLUSTER_DIR/admin.kubeconfig"
    return
  fi
  if [ -d "$CLUSTER_DIR/logs" ]; then
    mkdir -p "$WORK/logs" && cp "$CLUSTER_DIR"/logs/*.log "$WORK/logs/" 2>/dev/null || true
    cp "$CLUSTER_PIDS_FILE" "$WORK/cluster.pids" 2>/dev/null || true
  fi
  cluster_down
  engine_down
}
remove_work() { if [ "$CHECKS_FAILED" = 0 ]; then rm -rf "$WORK"; else log "logs kept in $WORK"; fi; }
snapshot_sysctls() { local name; for name in "${HOST_SYSCTLS[@]}"; do printf '%s=%s\n' "$name" "$(sysctl -n "$name" 2>/dev/null)"; done; }
snapshot_sysctls >"$WORK/sysctl.before"
trap finish EXIT
cpu_accounting_start
trap 'exit 130' INT TERM
on_exit remove_work
on_exit teardown

client_checks() {
  local output line
  output="$(node scripts/engines/e2e-client.ts "$@" 2>&1)" || true
  while IFS= read -r line; do
    case "$line" in
      "ok   "*) pass "${line#ok   }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) [ -n "$line" ] && log "client: $line" ;;
    esac
  done <<<"$output"
}

service_ip() { kubectl -n "$1" get service "$2" -o jsonpath='{.spec.clusterIP}'; }
deployment_available() { [ "$(kubectl -n "$1" get deployment "$2" -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null)" = True ]; }
ready_replicas() { local n; n="$(kubectl -n "$NS" get deployment "$1" -o jsonpath='{.status.readyReplicas}' 2>/dev/null)"; echo "${n:-0}"; }
spec_replicas() { local n; n="$(kubectl -n "$NS" get deployment "$1" -o jsonpath='{.spec.replicas}' 2>/dev/null)"; echo "${n:-0}"; }
replicas_at_least() { [ "$(ready_replicas "$1")" -ge "$2" ]; }
# Exactly N: the spec asks for N and no other pod of the Deployment is still stopping.
replicas_exactly() {
  [ "$(spec_replicas "$1")" = "$2" ] && [ "$(kubectl -n "$NS" get pods -l "app.kubernetes.io/instance=$3,app.kubernetes.io/component=worker" --no-headers 2>/dev/null | wc -l)" = "$2" ]
}
scaledobject_ready() { [ "$(kubectl -n "$NS" get scaledobject "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
apiservice_available() { [ "$(kubectl get apiservice v1beta1.external.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' 2>/dev/null)" = True ]; }
# The value the HPA last read for its external metric (through the aggregation layer), or empty.
hpa_metric_value() { kubectl -n "$NS" get hpa "keda-hpa-$1" -o jsonpath='{.status.currentMetrics[0].external.current.averageValue}{.status.currentMetrics[0].external.current.value}' 2>/dev/null; }
hpa_has_metric() { [ -n "$(hpa_metric_value "$1")" ]; }
queue_empty() { node -e '
  const { SQSClient, GetQueueAttributesCommand } = require("@aws-sdk/client-sqs");
  const sqs = new SQSClient({ region: "us-east-1", endpoint: process.argv[1], credentials: { accessKeyId: "emulator", secretAccessKey: "emulator" } });
  sqs.send(new GetQueueAttributesCommand({ QueueUrl: process.argv[2], AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))
    .then((r) => process.exit(Number(r.Attributes.ApproximateNumberOfMessages) + Number(r.Attributes.ApproximateNumberOfMessagesNotVisible) === 0 ? 0 : 1), () => process.exit(1));' "$S3" "$QUEUE_URL"; }

# timed SECONDS description command… — a check that also reports how long it took.
timed() {
  local seconds="$1" description="$2" started elapsed
  shift 2
  started="$(date +%s)"
  if wait_for "$seconds" "$@"; then
    elapsed=$(($(date +%s) - started))
    pass "$description (${elapsed} s)"
    TIMED_LAST="$elapsed"
  else
    fail "$description (not within $seconds s)"
    TIMED_LAST="-"
  fi
}

# --- binaries, images ----------------------------------------------------------------------------
bash scripts/setup.sh >/dev/null
stage "cluster build (Go modules, cached)"
bash scripts/engines/build-cluster-binaries.sh
if ! command -v helm >/dev/null; then go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; fi

stage "engine start"
engine_up
stage "stand-in base images"
ensure_base_images
stage "image build (docker build)"
if "${NICE[@]}" docker build -t media-processor:local . >"$WORK/build.log" 2>&1; then
  pass "the image builds from the Dockerfile ($(docker image inspect -f '{{.Size}}' media-processor:local | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
else
  tail -n 30 "$WORK/build.log"
  fail "the image builds from the Dockerfile"
  exit 1
fi
# One-layer images of the cluster's own binaries, saved with the others for containerd.
stage "cluster images (docker save)"
pack_binary_image() {
  local tag="$1" dir="$WORK/image-$2"
  shift 2
  mkdir -p "$dir/tmp" "$dir/etc"
  chmod 1777 "$dir/tmp"
  printf 'root:x:0:0::/:/bin/false\nnobody:x:65534:65534::/:/bin/false\nkeda:x:1000:1000::/:/bin/false\n' >"$dir/etc/passwd"
  local binary
  for binary in "${@}"; do
    case "$binary" in --change=*) ;; *) install -m 0755 "$binary" "$dir/$(basename "$binary")" ;; esac
  done
  local changes=()
  for binary in "${@}"; do case "$binary" in --change=*) changes+=(--change "${binary#--change=}") ;; esac; done
  pack_image "$tag" "$dir" "${changes[@]}"
}
pack_binary_image "$PAUSE_IMAGE" pause "$KUBE_BIN/pause" '--change=ENTRYPOINT ["/pause"]'
pack_binary_image mpe2e/coredns:e2e coredns "$COREDNS_BIN/coredns" '--change=ENTRYPOINT ["/coredns"]'
pack_binary_image mpe2e/prometheus:e2e prometheus "$PROMETHEUS_BIN/prometheus" '--change=ENTRYPOINT ["/prometheus"]' '--change=USER 65534:65534'
pack_binary_image mpe2e/keda:e2e keda "$KEDA_BIN/keda" "$KEDA_BIN/keda-adapter" '--change=USER 1000:1000'
docker save -o "$WORK/images.tar" media-processor:local redis:7-alpine "$PAUSE_IMAGE" mpe2e/coredns:e2e mpe2e/prometheus:e2e mpe2e/keda:e2e
stage "engine stop"
engine_down

# --- cluster ---------------------------------------------------------------------------------------
stage "cluster start"
cluster_up
import_images "$WORK/images.tar"
rm -f "$WORK/images.tar"
# What a pull by digest would have recorded, so the all-features install can pin the image by it.
IMAGE_DIGEST="$(ctr_k8s images ls name==docker.io/library/media-processor:local | awk 'NR == 2 { print $3 }')"
ctr_k8s images tag docker.io/library/media-processor:local "docker.io/library/media-processor@$IMAGE_DIGEST" >/dev/null
timed 180 "the node $NODE_NAME is Ready" node_ready
# CoreDNS, KEDA, Prometheus, then what the chart expects around it (Redis, the emulator).
stage "cluster add-ons, Redis, emulator"
kubectl apply -f "$MANIFESTS/coredns.yaml" >/dev/null
# KEDA from its own manifests (config/minimal: CRDs, RBAC, operator, metrics adapter and its
# APIService), pointed at the images packed above.
mkdir -p "$WORK/keda"
cp -r "$KEDA_BIN/config" "$WORK/keda/config"
cat >"$WORK/keda/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - config/minimal
images:
  - {name: ghcr.io/kedacore/keda, newName: mpe2e/keda, newTag: e2e}
  - {name: ghcr.io/kedacore/keda-metrics-apiserver, newName: mpe2e/keda, newTag: e2e}
patches:
  - target: {kind: Deployment}
    patch: |-
      - {op: replace, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
EOF
kubectl kustomize "$WORK/keda" >"$WORK/keda.yaml"
kubectl apply --server-side -f "$WORK/keda.yaml" >/dev/null
# The prometheus-operator CRDs, so the all-features install's ServiceMonitor and PrometheusRule
# are accepted (no operator runs; the objects are only validated and stored).
operator_module="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
kubectl apply --server-side -f "$operator_module/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
  -f "$operator_module/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" >/dev/null
kubectl wait --for condition=established --timeout 60s crd/scaledobjects.keda.sh crd/triggerauthentications.keda.sh >/dev/null
kubectl apply -f "$MANIFESTS/prometheus.yaml" -f "$MANIFESTS/media-dependencies.yaml" >/dev/null
for deployment in kube-system/coredns keda/keda-operator keda/keda-metrics-apiserver monitoring/prometheus media/redis media/media-emulator; do
  timed 300 "$deployment is available" deployment_available "${deployment%/*}" "${deployment#*/}"
done
timed 180 "the external metrics API (KEDA's adapter behind the API server's aggregation layer) is available" apiservice_available
dns_answer="$(kubectl -n "$NS" exec deploy/media-emulator -- node -e 'require("node:dns").lookup("redis.media.svc.cluster.local", (e, a) => { console.log(e ? "error" : a); })' 2>/dev/null || true)"
check "cluster DNS resolves a Service name (redis → ${dns_answer:-nothing})" test "$dns_answer" = "$(service_ip "$NS" redis)"
outside="$(kubectl -n "$NS" exec deploy/media-emulator -- node -e 'require("node:dns").lookup("deb.debian.org", (e) => { console.log(e ? e.code : "resolved"); })' 2>/dev/null || true)"
check "names outside the cluster do not resolve in pods ($outside)" test "$outside" = ENOTFOUND

# The emulator's fixed ClusterIP (media-dependencies.yaml says why it is not addressed by name).
S3="http://$(service_ip "$NS" media-emulator):4566"
QUEUE_URL="http://sqs.us-east-1.media-emulator:4566/000000000000/media-processing"
node scripts/engines/e2e-client.ts samples "$WORK" --long-clip 10 >"$WORK/samples.list"

# --- helm install: the chart's defaults -------------------------------------------------------------
stage "helm install (defaults + values-e2e)"
export KUBECONFIG="$CLUSTER_DIR/admin.kubeconfig"
FULLNAME="$RELEASE-media-processor"
WORKER="$FULLNAME-worker"
# The dashboard's previews are loaded from this host, which reaches the emulator by its ClusterIP.
if helm install "$RELEASE" "$CHART" -n "$NS" -f "$MANIFESTS/values-e2e.yaml" --set-string "api.publicS3Endpoint=$S3" --wait --timeout 6m >"$WORK/helm-install.log" 2>&1; then
  pass "helm install $RELEASE (defaults) succeeds and its Deployments become ready"
else
  cat "$WORK/helm-install.log"
  fail "helm install $RELEASE (defaults) succeeds and its Deployments become ready"
fi
timed 120 "the worker ScaledObject is Ready (KEDA reads the queue through awsEndpoint)" scaledobject_ready "$WORKER"
check "KEDA made the worker HPA keda-hpa-$WORKER" kubectl -n "$NS" get hpa "keda-hpa-$WORKER" -o name
timed 120 "with an empty queue the workers are at the chart's minimum, 0" replicas_exactly "$WORKER" 0 "$RELEASE"
API="http://$(service_ip "$NS" "$FULLNAME-api"):80"
TOKEN="e2e-token-0123456789abcdef"

stage "uploads processed (scaled from zero)"
grep -v long-clip "$WORK/samples.list" >"$WORK/mixed.list"
# shellcheck disable=SC2046
node scripts/engines/e2e-client.ts upload --s3 "$S3" --bucket "$BUCKET" --prefix "$RUN_PREFIX/mixed/" $(cat "$WORK/mixed.list") >"$WORK/mixed.keys"
client_checks verify --api "$API" --token "$TOKEN" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/mixed.keys" --timeout 600 --min-workers 1 --previews

# burst PREFIX COUNT — COUNT uploads of the photo at once, each its own job (keys in burst.keys).
burst() {
  node scripts/engines/e2e-client.ts burst --s3 "$S3" --bucket "$BUCKET" --prefix "$1" --count "$2" "$(grep sunset-photo "$WORK/samples.list")" >"$WORK/burst.keys"
}

stage "KEDA aws-sqs-queue: scale-up on a burst"
burst "$RUN_PREFIX/burst-sqs/" 30
timed 300 "a burst of 30 uploads scales the workers to the maximum, 4" replicas_at_least "$WORKER" 4
SQS_SCALE_UP="$TIMED_LAST"
timed 60 "the HPA reads the queue depth from KEDA's metrics adapter" hpa_has_metric "$WORKER"
log "HPA external metric value: $(hpa_metric_value "$WORKER")"
stage "KEDA aws-sqs-queue: scale-down to 0"
timed 900 "the backlog is processed (queue empty)" queue_empty
scale_down_started="$(date +%s)"
timed 300 "an empty queue scales the workers back to 0 (cooldown 30 s)" replicas_exactly "$WORKER" 0 "$RELEASE"
SQS_SCALE_DOWN="$(($(date +%s) - scale_down_started))"
client_checks verify --api "$API" --token "$TOKEN" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/burst.keys" --single-attempt --timeout 60 --min-workers 2

# --- helm upgrade while jobs run --------------------------------------------------------------------
stage "helm upgrade rolls the workers mid-job"
node scripts/engines/e2e-client.ts upload --s3 "$S3" --bucket "$BUCKET" --prefix "$RUN_PREFIX/rollout/" "$(grep long-clip "$WORK/samples.list")" >"$WORK/rollout.keys"
burst "$RUN_PREFIX/rollout-burst/" 12
cat "$WORK/burst.keys" >>"$WORK/rollout.keys"
if node scripts/engines/e2e-client.ts wait-processing --api "$API" --token "$TOKEN" --key "$(head -n 1 "$WORK/rollout.keys")" --timeout 300 >"$WORK/rollout.worker" 2>&1; then
  old_pods="$(kubectl -n "$NS" get pods -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=worker" -o jsonpath='{.items[*].metadata.name}')"
  if helm upgrade "$RELEASE" "$CHART" -n "$NS" --reuse-values --set-string "podAnnotations.e2e/rollout=$(date +%s)" >"$WORK/helm-upgrade.log" 2>&1; then
    pass "helm upgrade $RELEASE (new pod template) is accepted while the video job runs on $(cat "$WORK/rollout.worker")"
  else
    cat "$WORK/helm-upgrade.log"
    fail "helm upgrade $RELEASE (new pod template) is accepted"
  fi
  rollout_done() {
    local pod
    for pod in $old_pods; do kubectl -n "$NS" get pod "$pod" >/dev/null 2>&1 && return 1; done
    return 0
  }
  timed 900 "every worker of the old pod template drained its jobs and stopped" rollout_done
  client_checks verify --api "$API" --token "$TOKEN" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/rollout.keys" --single-attempt --timeout 600 --min-workers 1
else
  fail "the video job started before the upgrade ($(cat "$WORK/rollout.worker"))"
fi

# --- the prometheus trigger -------------------------------------------------------------------------
stage "KEDA prometheus trigger: up and down"
PROMETHEUS="http://$(service_ip monitoring prometheus):9090"
if helm upgrade "$RELEASE" "$CHART" -n "$NS" --reuse-values --set autoscaling.keda.trigger=prometheus \
  --set autoscaling.keda.minReplicaCount=1 --set autoscaling.keda.prometheus.serverAddress=http://prometheus.monitoring.svc:9090 \
  --wait --timeout 10m >"$WORK/helm-upgrade-prometheus.log" 2>&1; then
  pass "helm upgrade to the prometheus trigger (minReplicaCount 1)"
else
  cat "$WORK/helm-upgrade-prometheus.log"
  fail "helm upgrade to the prometheus trigger (minReplicaCount 1)"
fi
timed 180 "the ScaledObject is Ready with the prometheus trigger" scaledobject_ready "$WORKER"
prometheus_has_backlog_series() { curl -fsS "$PROMETHEUS/api/v1/query" --data-urlencode 'query=media_queue_messages{queue="media",namespace="media"}' 2>/dev/null | grep -q '"state":"visible"'; }
# KEDA sets the minimum itself (an empty query result reads as 0, not as an error); only then is
# there a worker for Prometheus to scrape.
timed 180 "at least one worker runs (the trigger's minimum)" replicas_at_least "$WORKER" 1
timed 120 "Prometheus scrapes media_queue_messages from the workers" prometheus_has_backlog_series
if [ "$TIMED_LAST" = - ]; then
  # Nothing to scale on: the waits below would only run out their time.
  fail "the prometheus trigger scales on the backlog (not tried: Prometheus has no backlog series)"
else
  burst "$RUN_PREFIX/burst-prometheus/" 30
  timed 300 "a burst of 30 uploads scales the workers to 4 on the Prometheus backlog" replicas_at_least "$WORKER" 4
  PROMETHEUS_SCALE_UP="$TIMED_LAST"
  external_metric() { kubectl get --raw "/apis/external.metrics.k8s.io/v1beta1/namespaces/$NS/s0-prometheus?labelSelector=scaledobject.keda.sh%2Fname%3D$WORKER" 2>/dev/null; }
  metric_json="$(external_metric || true)"
  check "the external metrics API serves the Prometheus backlog to the HPA ($(echo "$metric_json" | grep -o '"value":"[^"]*"' | head -1))" grep -q '"value"' <<<"$metric_json"
  timed 900 "the backlog is processed (queue empty)" queue_empty
  scale_down_started="$(date +%s)"
  timed 300 "an empty queue scales the workers back to the minimum, 1" replicas_exactly "$WORKER" 1 "$RELEASE"
  PROMETHEUS_SCALE_DOWN="$(($(date +%s) - scale_down_started))"
  client_checks verify --api "$API" --token "$TOKEN" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/burst.keys" --single-attempt --timeout 60 --min-workers 2
fi

# --- helm install: every optional resource ---------------------------------------------------------
stage "helm install (ci/all-features-values.yaml)"
helm uninstall "$RELEASE" -n "$NS" --wait --timeout 5m >/dev/null 2>&1 || fail "helm uninstall $RELEASE"
if helm install media-all "$CHART" -n "$NS" -f "$CHART/ci/all-features-values.yaml" -f "$MANIFESTS/values-e2e-all-features.yaml" \
  --set "image.digest=$IMAGE_DIGEST" --wait --timeout 6m >"$WORK/helm-install-all.log" 2>&1; then
  pass "helm install with every optional resource on (image pinned by digest ${IMAGE_DIGEST:0:19}…)"
else
  cat "$WORK/helm-install-all.log"
  fail "helm install with every optional resource on"
fi
helm get manifest media-all -n "$NS" | awk '/^kind:/ { kind = $2 } /^  name:/ && kind { print kind "/" $2; kind = "" }' | sort -u >"$WORK/all-features.objects"
missing_objects=""
while IFS= read -r object; do
  kubectl -n "$NS" get "$object" >/dev/null 2>&1 || missing_objects+=" $object"
done <"$WORK/all-features.objects"
check "every object of the all-features render exists in the cluster ($(wc -l <"$WORK/all-features.objects") objects: $(cut -d/ -f1 "$WORK/all-features.objects" | sort -u | tr '\n' ' '))${missing_objects:+ missing:$missing_objects}" test -z "$missing_objects"
# Lanes: one Deployment and one ScaledObject per lane, each scaling on its own queue.
VIDEO_QUEUE_URL="http://sqs.us-east-1.media-emulator:4566/000000000000/media-processing-video"
for lane in quick video; do
  timed 120 "the $lane lane's ScaledObject mp-worker-$lane is Ready" scaledobject_ready "mp-worker-$lane"
  check "KEDA made the $lane lane's HPA keda-hpa-mp-worker-$lane" kubectl -n "$NS" get hpa "keda-hpa-mp-worker-$lane" -o name
done
check "no lane-less worker Deployment or ScaledObject beside the lanes'" \
  bash -c "! kubectl -n $NS get deployment mp-worker >/dev/null 2>&1 && ! kubectl -n $NS get scaledobject mp-worker >/dev/null 2>&1"
quick_queue="$(kubectl -n "$NS" get scaledobject mp-worker-quick -o jsonpath='{.spec.triggers[0].metadata.queueURL}')"
video_queue="$(kubectl -n "$NS" get scaledobject mp-worker-video -o jsonpath='{.spec.triggers[0].metadata.queueURL}')"
check "each lane's ScaledObject watches its own queue (quick ${quick_queue##*/}, video ${video_queue##*/})" \
  test "$quick_queue" = "$QUEUE_URL" -a "$video_queue" = "$VIDEO_QUEUE_URL"
API_ALL="http://$(service_ip "$NS" mp-api):80"
# The short clip is the video lane's job; the long one is left out (the lanes install has no drain check).
grep -v long-clip "$WORK/samples.list" >"$WORK/all.list"
# shellcheck disable=SC2046
node scripts/engines/e2e-client.ts upload --s3 "$S3" --bucket "$BUCKET" --prefix "$RUN_PREFIX/all-features/" $(cat "$WORK/all.list") >"$WORK/all.keys"
# A worker id is <pod name>-<pid>, and a lane's pods are named after its Deployment.
client_checks verify --api "$API_ALL" --token ci-placeholder-token --s3 "$S3" --bucket media-derived --keys "$WORK/all.keys" --timeout 600 --min-workers 2 \
  --lane "video:mp-worker-video-" --lane "image,document,audio:mp-worker-quick-"

stage "teardown"
if [ "${E2E_KEEP:-0}" != 1 ]; then
  helm uninstall media-all -n "$NS" --timeout 2m >/dev/null 2>&1 || true
  teardown
  leftover_processes=""
  while read -r pid name; do kill -0 "$pid" 2>/dev/null && leftover_processes+=" $name"; done <<<"$(cat "$WORK/cluster.pids" 2>/dev/null)"
  check "no cluster process is left${leftover_processes:+:$leftover_processes}" test -z "$leftover_processes"
  leftover_mounts="$(awk -v prefix="$CLUSTER_DIR" 'index($2, prefix) == 1' /proc/self/mounts | wc -l)"
  check "no mount is left under the cluster folder ($leftover_mounts)" test "$leftover_mounts" = 0
  check "the node bridge $NODE_BRIDGE is gone" bash -c "! ip link show $NODE_BRIDGE >/dev/null 2>&1"
  check "the host's sysctls are as before (ip_forward $(sysctl -n net.ipv4.ip_forward))" diff -q "$WORK/sysctl.before" <(snapshot_sysctls)
fi

print_stages >&2
{
  echo "scale-up   aws-sqs-queue ${SQS_SCALE_UP:-?} s, prometheus ${PROMETHEUS_SCALE_UP:-?} s"
  echo "scale-down aws-sqs-queue ${SQS_SCALE_DOWN:-?} s (to 0), prometheus ${PROMETHEUS_SCALE_DOWN:-?} s (to 1)"
} >&2
summary
if [ "$CHECKS_FAILED" = 0 ]; then
  bash scripts/engines/e2e-tree-hash.sh >.ci/kubernetes-e2e.passed
  log "recorded $(cat .ci/kubernetes-e2e.passed) in .ci/kubernetes-e2e.passed"
fi
