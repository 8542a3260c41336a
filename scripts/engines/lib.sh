#!/usr/bin/env bash
# Shared by the engine scripts: versions, the cache folder they own, and the check/teardown
# helpers both e2e scripts print with. Sourced, never run.
#
# Everything built or downloaded for the engines lives under E2E_CACHE (never in the repository):
#   bin/<component>-<version>/   Kubernetes, CoreDNS, KEDA and Prometheus binaries built from Go modules
#   go-build/                    their Go build cache
#   images/                      stand-in base images and small cluster images, as docker/OCI tarballs
#   docker/                      the data root of the dockerd these scripts start
# Delete the folder to start from nothing; E2E_CACHE moves it.

E2E_CACHE="${E2E_CACHE:-/var/cache/media-processor-e2e}"
E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

KUBERNETES_VERSION="v1.34.3"
# The staging modules (k8s.io/api, client-go, …) are published as v0.<minor>.<patch>.
KUBERNETES_STAGING_VERSION="v0.34.3"
COREDNS_VERSION="v1.15.0"
KEDA_VERSION="v2.21.0"
# The same Prometheus module scripts/check-deploy.sh builds promtool from.
PROMETHEUS_MODULE_VERSION="v0.313.5"

export PATH="/usr/local/bin:/usr/local/go/bin:$PATH"

# Builds and long runs yield to the other users of this machine.
NICE=(nice -n 10)

KUBE_BIN="$E2E_CACHE/bin/kubernetes-$KUBERNETES_VERSION"
COREDNS_BIN="$E2E_CACHE/bin/coredns-$COREDNS_VERSION"
KEDA_BIN="$E2E_CACHE/bin/keda-$KEDA_VERSION"
PROMETHEUS_BIN="$E2E_CACHE/bin/prometheus-$PROMETHEUS_MODULE_VERSION"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# --- checks: one line each, then "N passed, M failed" -------------------------------------------
CHECKS_PASSED=0
CHECKS_FAILED=0
pass() { CHECKS_PASSED=$((CHECKS_PASSED + 1)); printf 'ok   %s\n' "$*"; }
fail() { CHECKS_FAILED=$((CHECKS_FAILED + 1)); printf 'FAIL %s\n' "$*"; }
# check "description" command… — passes when the command exits 0.
check() {
  local description="$1"
  shift
  if "$@"; then pass "$description"; else fail "$description"; fi
}
SUMMARY_PRINTED=0
summary() {
  SUMMARY_PRINTED=1
  printf '%d passed, %d failed\n' "$CHECKS_PASSED" "$CHECKS_FAILED"
}
# The EXIT trap of both e2e scripts: a run cut short by an error still says where and counts it
# as a failure, then everything registered with on_exit is torn down.
finish() {
  local status=$?
  if [ "$SUMMARY_PRINTED" = 0 ]; then
    fail "aborted during \"${STAGE_NAME:-setup}\" (exit $status)"
    print_stages >&2
    summary
  fi
  run_cleanups
  cpu_accounting_stop
  [ "$CHECKS_FAILED" = 0 ] && [ "$status" = 0 ] || exit 1
}

# --- CPU accounting -------------------------------------------------------------------------------
# CPU is what a busy machine cannot stretch, so each stage reports it beside its wall time: the
# script and everything it starts (builds, dockerd, containerd, the cluster's processes, shims)
# run in a cpuacct cgroup of its own, and the containers the engines start are charged to the
# cgroups Docker and kubelet create (/docker, /kubepods: only our engines make them, and
# host-state.sh removes them). Where cgroup v1's cpuacct is not writable, CPU reads as "?".
CPUACCT_ROOT=/sys/fs/cgroup/cpuacct
CPU_CGROUP=""
cpu_accounting_start() {
  [ -w "$CPUACCT_ROOT/cgroup.procs" ] || return 0
  CPU_CGROUP="$CPUACCT_ROOT/media-processor-e2e-$$"
  if ! { mkdir -p "$CPU_CGROUP" && echo "$$" >"$CPU_CGROUP/cgroup.procs"; } 2>/dev/null; then
    rmdir "$CPU_CGROUP" 2>/dev/null || true
    CPU_CGROUP=""
  fi
}
cpu_accounting_stop() {
  [ -n "$CPU_CGROUP" ] || return 0
  local pid
  # Back to the root group, with anything still in ours (nothing, after the teardown).
  for pid in $(cat "$CPU_CGROUP/cgroup.procs" 2>/dev/null); do echo "$pid" >"$CPUACCT_ROOT/cgroup.procs" 2>/dev/null || true; done
  rmdir "$CPU_CGROUP" 2>/dev/null || true
  CPU_CGROUP=""
}
# CPU nanoseconds used so far by this run (empty when not measured).
cpu_ns() {
  [ -n "$CPU_CGROUP" ] || return 0
  local total=0 group value
  for group in "$CPU_CGROUP" "$CPUACCT_ROOT/docker" "$CPUACCT_ROOT/kubepods"; do
    value="$(cat "$group/cpuacct.usage" 2>/dev/null || echo 0)"
    total=$((total + value))
  done
  echo "$total"
}

# --- stage timings --------------------------------------------------------------------------------
declare -a STAGE_LINES=()
STAGE_NAME=""
STAGE_STARTED=0
STAGE_CPU_STARTED=""
stage() {
  stage_end
  STAGE_NAME="$*"
  STAGE_STARTED="$(date +%s)"
  STAGE_CPU_STARTED="$(cpu_ns)"
  log "== $STAGE_NAME"
}
stage_end() {
  if [ -n "$STAGE_NAME" ]; then
    local cpu="?" now
    now="$(cpu_ns)"
    # A cgroup removed during the stage (the engine stopped) takes its count with it: never below 0.
    if [ -n "$now" ] && [ -n "$STAGE_CPU_STARTED" ]; then cpu=$(((now > STAGE_CPU_STARTED ? now - STAGE_CPU_STARTED : 0) / 1000000000)); fi
    STAGE_LINES+=("$(printf '%-44s %5s s wall %5s s CPU' "$STAGE_NAME" "$(($(date +%s) - STAGE_STARTED))" "$cpu")")
    STAGE_NAME=""
  fi
}
print_stages() {
  stage_end
  local line
  printf 'stage times:\n'
  for line in "${STAGE_LINES[@]}"; do printf '  %s\n' "$line"; done
}

# --- teardown: run registered steps in reverse order, each guarded --------------------------------
declare -a CLEANUPS=()
on_exit() { CLEANUPS+=("$*"); }
run_cleanups() {
  local index
  for ((index = ${#CLEANUPS[@]} - 1; index >= 0; index--)); do
    eval "${CLEANUPS[index]}" || log "cleanup step failed: ${CLEANUPS[index]}"
  done
  CLEANUPS=()
}

# wait_for SECONDS command… — retries every second; exit status of the last try.
wait_for() {
  local seconds="$1" started
  shift
  started="$(date +%s)"
  until "$@"; do
    [ $(($(date +%s) - started)) -ge "$seconds" ] && return 1
    sleep 1
  done
}

apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]} (apt)"
  apt-get update -qq -o DPkg::Lock::Timeout=600
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null
}
