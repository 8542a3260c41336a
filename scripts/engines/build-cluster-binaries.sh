#!/usr/bin/env bash
# Builds, once, every binary the Kubernetes e2e runs, from Go modules only (no release downloads):
#   Kubernetes  kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl
#               through a wrapper module that requires k8s.io/kubernetes and replaces each staging
#               module (the main module's ./staging/src paths do not exist outside its repository)
#   CoreDNS     cluster DNS, `go install` of its module (no replace directives)
#   KEDA        operator and metrics adapter, built inside a copy of its module (its go.mod has
#               replace directives, which only the main module may apply)
#   Prometheus  the server KEDA's prometheus trigger queries, from the module promtool comes from
#   pause       the pod sandbox, from the Kubernetes module's own build/pause/linux/pause.c
# Binaries land in E2E_CACHE/bin/<component>-<version>/ and are reused while they exist.
#
#   bash scripts/engines/build-cluster-binaries.sh [kubernetes|coredns|keda|prometheus|pause]…
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export GOCACHE="$E2E_CACHE/go-build"
export GOFLAGS="-buildvcs=false"
export GOWORK=off
export CGO_ENABLED=0
mkdir -p "$E2E_CACHE/bin" "$E2E_CACHE/src"

module_dir() { go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'; }

# copy_module MODULE@VERSION DEST — a writable copy of a module, to build inside it as main module.
copy_module() {
  local source
  source="$(module_dir "$1")"
  rm -rf "$2"
  mkdir -p "$2"
  cp -r "$source/." "$2"
  chmod -R u+w "$2"
}

KUBERNETES_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

build_kubernetes() {
  local missing=0 command
  for command in "${KUBERNETES_COMMANDS[@]}"; do [ -x "$KUBE_BIN/$command" ] || missing=1; done
  [ "$missing" = 0 ] && { log "kubernetes $KUBERNETES_VERSION: cached in $KUBE_BIN"; return; }
  log "kubernetes $KUBERNETES_VERSION: building ${KUBERNETES_COMMANDS[*]}"
  local wrapper="$E2E_CACHE/src/kubernetes-wrapper" upstream_mod staging
  upstream_mod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  rm -rf "$wrapper"
  mkdir -p "$wrapper"
  {
    echo "module media-processor-e2e/kubernetes"
    echo
    echo "go $(awk '$1 == "go" { print $2; exit }' "$upstream_mod")"
    echo
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo
    # Every `k8s.io/X => ./staging/src/k8s.io/X` of the upstream go.mod, pointed at the release.
    for staging in $(sed -nE 's#^[[:space:]]*(k8s\.io/[^[:space:]]+) => \./staging/src/.*#\1#p' "$upstream_mod"); do
      echo "replace $staging => $staging $KUBERNETES_STAGING_VERSION"
    done
    echo
    for command in "${KUBERNETES_COMMANDS[@]}"; do echo "tool k8s.io/kubernetes/cmd/$command"; done
  } >"$wrapper/go.mod"
  (cd "$wrapper" && go mod tidy)
  # gitVersion is what /version reports; Helm's kubeVersion check reads it (a plain `go build`
  # would report v0.0.0-master).
  local version_flags=""
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    version_flags+=" -X $package.gitVersion=$KUBERNETES_VERSION -X $package.gitMajor=1 -X $package.gitMinor=34 -X $package.gitTreeState=clean"
  done
  mkdir -p "$KUBE_BIN.partial"
  local packages=()
  for command in "${KUBERNETES_COMMANDS[@]}"; do packages+=("k8s.io/kubernetes/cmd/$command"); done
  (cd "$wrapper" && "${NICE[@]}" go build -trimpath -ldflags "-s -w$version_flags" -o "$KUBE_BIN.partial/" "${packages[@]}")
  rm -rf "$KUBE_BIN"
  mv "$KUBE_BIN.partial" "$KUBE_BIN"
}

build_coredns() {
  [ -x "$COREDNS_BIN/coredns" ] && { log "coredns $COREDNS_VERSION: cached"; return; }
  log "coredns $COREDNS_VERSION: building"
  GOBIN="$COREDNS_BIN" "${NICE[@]}" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_keda() {
  [ -x "$KEDA_BIN/keda" ] && [ -x "$KEDA_BIN/keda-adapter" ] && { log "keda $KEDA_VERSION: cached"; return; }
  log "keda $KEDA_VERSION: building the operator and the metrics adapter"
  local source="$E2E_CACHE/src/keda"
  copy_module "github.com/kedacore/keda/v2@$KEDA_VERSION" "$source"
  mkdir -p "$KEDA_BIN.partial"
  local flags="-s -w -X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v} -X github.com/kedacore/keda/v2/version.GitCommit=module"
  (cd "$source" && GOFLAGS="$GOFLAGS -mod=mod" "${NICE[@]}" go build -trimpath -ldflags "$flags" -o "$KEDA_BIN.partial/keda" ./cmd/operator)
  (cd "$source" && GOFLAGS="$GOFLAGS -mod=mod" "${NICE[@]}" go build -trimpath -ldflags "$flags" -o "$KEDA_BIN.partial/keda-adapter" ./cmd/adapter)
  # Its CRDs and RBAC are applied from the same copy; keep them beside the binaries.
  cp -r "$source/config" "$KEDA_BIN.partial/config"
  rm -rf "$KEDA_BIN" "$source"
  mv "$KEDA_BIN.partial" "$KEDA_BIN"
}

build_prometheus() {
  [ -x "$PROMETHEUS_BIN/prometheus" ] && { log "prometheus $PROMETHEUS_MODULE_VERSION: cached"; return; }
  log "prometheus $PROMETHEUS_MODULE_VERSION: building the server"
  local source="$E2E_CACHE/src/prometheus"
  copy_module "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" "$source"
  mkdir -p "$PROMETHEUS_BIN"
  (cd "$source" && GOFLAGS="$GOFLAGS -mod=mod" "${NICE[@]}" go build -trimpath -ldflags "-s -w" -o "$PROMETHEUS_BIN/prometheus.partial" ./cmd/prometheus)
  mv "$PROMETHEUS_BIN/prometheus.partial" "$PROMETHEUS_BIN/prometheus"
  rm -rf "$source"
}

build_pause() {
  [ -x "$KUBE_BIN/pause" ] && { log "pause: cached"; return; }
  log "pause: gcc from the Kubernetes module's build/pause/linux/pause.c"
  local source
  source="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")/build/pause/linux/pause.c"
  mkdir -p "$KUBE_BIN"
  gcc -Os -Wall -Werror -static -DVERSION="e2e-$KUBERNETES_VERSION" -o "$KUBE_BIN/pause.partial" "$source"
  strip "$KUBE_BIN/pause.partial"
  mv "$KUBE_BIN/pause.partial" "$KUBE_BIN/pause"
}

main() {
  local components=("$@")
  [ "${#components[@]}" -gt 0 ] || components=(kubernetes pause coredns keda prometheus)
  local component
  # Wall and CPU time of each component (CPU is what a busy machine stretches).
  local TIMEFORMAT
  for component in "${components[@]}"; do
    TIMEFORMAT="[build] $component: %0R s wall, %0U s user + %0S s system CPU"
    time "build_$component"
  done
  # Once every binary exists the compile cache (several GB) is dead weight: a version bump
  # changes the dependencies too.
  if [ "$#" = 0 ] && [ -d "$GOCACHE" ]; then
    log "all binaries built; removing the Go build cache $GOCACHE ($(du -sh "$GOCACHE" | cut -f1))"
    rm -rf "$GOCACHE"
  fi
}

main "$@"
