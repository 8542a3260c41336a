#!/usr/bin/env bash
# Runs what we ship with docker-compose on a real Docker Engine, as a user would:
#   engine       the one DOCKER_HOST reaches, or a dockerd started here (scripts/engines/docker-engine.sh)
#   base images  node:24-bookworm-slim and redis:7-alpine, pulled or built as stand-ins
#   image        docker-compose build (the Dockerfile, unchanged)
#   stack        docker-compose up -d --scale media-processor=2 --scale media-processor-video=1
#                (docker-compose.media-processor.yml: the quick lane's workers and the video lane's)
# then uploads a mixed set (photo, PNG, GIF, HEIC, PDF, Word document, video, audio) through the emulator's
# published port with a plain S3 client and checks through the job API that every job
# completed once with its outputs, on at least two workers, each kind in its own lane (videos
# on the video worker, the rest on the quick workers); that the containers run as UID 10001 on
# a read-only root filesystem; that stopping the video worker mid-video lets it finish the
# video first (its drain window is the job timeout); and that everything is torn down
# (containers, network, volumes, the dockerd it started).
# Every request goes to 127.0.0.1 (published ports) or into the containers it created.
#
#   bash scripts/e2e-compose.sh          (E2E_KEEP=1 leaves the stack running for a look)
#
# Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/engines/lib.sh
source scripts/engines/host-state.sh
source scripts/engines/docker-engine.sh
source scripts/engines/base-images.sh

COMPOSE_FILE_PATH="docker-compose.media-processor.yml"
# A project name of its own, so a user's stack of the same file is never touched.
export COMPOSE_PROJECT_NAME="mpe2e$$"
WORK="$(mktemp -d /tmp/media-e2e-compose.XXXXXX)"
BUCKET="media-uploads"
PREFIX="tenants/t1/users/u1/media/e2e-$(date +%s)/"

compose() { docker-compose -f "$COMPOSE_FILE_PATH" "$@"; }

free_port() { node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'; }

teardown() {
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    log "E2E_KEEP=1: stack $COMPOSE_PROJECT_NAME left running (DOCKER_HOST=${DOCKER_HOST:-default})"
    return
  fi
  if engine_reachable; then
    compose logs --no-color >"$WORK/compose.log" 2>&1 || true
    compose down -v --remove-orphans --timeout 45 >/dev/null 2>&1 || true
  fi
  engine_down
  rm -rf "$WORK"
}
trap finish EXIT
cpu_accounting_start
trap 'exit 130' INT TERM
on_exit teardown

# client_checks command… — runs the e2e client and counts its ok/FAIL lines as checks.
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

containers_of() { docker ps -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --filter "label=com.docker.compose.service=$1"; }
# Worker-id prefixes of a service's containers, comma-separated: a worker id is <hostname>-<pid>
# and a container's hostname is its short id.
worker_prefixes_of() {
  local id prefixes=""
  for id in $(containers_of "$1"); do prefixes+="${prefixes:+,}$(docker inspect -f '{{.Config.Hostname}}' "$id")-"; done
  echo "$prefixes"
}

all_healthy() {
  local id state unhealthy=0 count=0
  for id in $(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"); do
    count=$((count + 1))
    state="$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id")"
    [ "$state" = healthy ] || unhealthy=1
  done
  [ "$count" -ge 6 ] && [ "$unhealthy" = 0 ]
}

# --- engine, base images, image ------------------------------------------------------------------
bash scripts/setup.sh >/dev/null
stage "engine start"
engine_up
stage "stand-in base images"
ensure_base_images
stage "image build (docker-compose build)"
export MEDIA_EMULATOR_PORT MEDIA_API_PORT DOCUMENT_ENABLE_LIBREOFFICE=true
MEDIA_EMULATOR_PORT="$(free_port)"
MEDIA_API_PORT="$(free_port)"
if "${NICE[@]}" docker-compose -f "$COMPOSE_FILE_PATH" build >"$WORK/build.log" 2>&1; then
  pass "the image builds from the Dockerfile ($(docker image inspect -f '{{.Size}}' media-processor:local | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
else
  tail -n 30 "$WORK/build.log"
  fail "the image builds from the Dockerfile"
  summary
  exit 1
fi
docker history --format '{{.Size}}\t{{.CreatedBy}}' media-processor:local | awk -F'\t' '$1 != "0B" { printf "  layer %8s  %.90s\n", $1, $2 }' >&2

# --- the stack -------------------------------------------------------------------------------------
stage "compose up --scale media-processor=2 --scale media-processor-video=1"
compose up -d --scale media-processor=2 --scale media-processor-video=1 >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "docker-compose up"; }
if wait_for 240 all_healthy; then
  pass "redis, emulator, API and 3 workers (2 quick-lane, 1 video-lane) are healthy"
else
  docker ps -a --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --format '{{.Names}} {{.Status}}'
  compose logs --no-color --tail 20
  fail "redis, emulator, API and 3 workers (2 quick-lane, 1 video-lane) are healthy"
fi
check "the quick lane runs 2 workers and the video lane 1" test "$(containers_of media-processor | wc -l) $(containers_of media-processor-video | wc -l)" = "2 1"
QUICK_WORKERS="$(worker_prefixes_of media-processor)"
VIDEO_WORKERS="$(worker_prefixes_of media-processor-video)"

stage "compose: uploads processed"
node scripts/engines/e2e-client.ts samples "$WORK" --docx --long-clip 12 >"$WORK/samples.list"
grep -v long-clip "$WORK/samples.list" >"$WORK/mixed.list"
S3="http://127.0.0.1:$MEDIA_EMULATOR_PORT"
API="http://127.0.0.1:$MEDIA_API_PORT"
# shellcheck disable=SC2046
node scripts/engines/e2e-client.ts upload --s3 "$S3" --bucket "$BUCKET" --prefix "$PREFIX" $(cat "$WORK/mixed.list") >"$WORK/mixed.keys"
client_checks verify --api "$API" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/mixed.keys" --timeout 420 --min-workers 2 --previews \
  --lane "video:$VIDEO_WORKERS" --lane "image,document,audio:$QUICK_WORKERS"

stage "compose: container hardening"
for id in $(containers_of media-processor) $(containers_of media-processor-video) $(containers_of media-api) $(containers_of media-emulator); do
  name="$(docker inspect -f '{{.Name}}' "$id")"
  uid="$(docker exec "$id" node -e 'process.stdout.write(String(process.getuid()))' 2>/dev/null || echo "?")"
  readonly_root="$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$id")"
  # As UID 0, so only a read-only mount can refuse the write.
  if docker exec --user 0 "$id" sh -c ': > /probe' 2>/dev/null; then writable=yes; else writable=no; fi
  check "${name#/} runs as UID 10001 (got $uid) on a read-only root filesystem (ReadonlyRootfs=$readonly_root, / writable: $writable)" \
    test "$uid" = 10001 -a "$readonly_root" = true -a "$writable" = no
done

stage "compose: the video worker stopped mid-video"
LONG_CLIP="$(grep long-clip "$WORK/samples.list")"
node scripts/engines/e2e-client.ts upload --s3 "$S3" --bucket "$BUCKET" --prefix "$PREFIX" "$LONG_CLIP" >"$WORK/long.keys"
if worker="$(node scripts/engines/e2e-client.ts wait-processing --api "$API" --key "$(cat "$WORK/long.keys")" --timeout 240 2>"$WORK/wait.err")"; then
  # The worker id is <hostname>-<pid>; a container's hostname is its short id.
  target=""
  for id in $(containers_of media-processor-video); do
    case "$worker" in "$(docker inspect -f '{{.Config.Hostname}}' "$id")"-*) target="$id" ;; esac
  done
  if [ -n "$target" ]; then
    # awk reads to the end: leaving early would SIGPIPE docker-compose and fail the pipeline.
    grace="$(compose config | awk '/^  media-processor-video:/ { inside = 1 } inside && !found && /stop_grace_period:/ { print $2; found = 1 }')"
    grace_seconds="$(echo "${grace:-630s}" | sed -E 's/s$//')"
    log "stopping $(docker inspect -f '{{.Name}}' "$target") (worker $worker) mid-video, grace ${grace_seconds}s as compose gives it"
    stop_started="$(date +%s)"
    docker stop --time "$grace_seconds" "$target" >/dev/null
    exit_code="$(docker inspect -f '{{.State.ExitCode}}' "$target")"
    check "the stopped video worker finished its job and exited 0 within stop_grace_period (exit $exit_code after $(($(date +%s) - stop_started)) s)" test "$exit_code" = 0
    # The only video worker is gone: the video completed only if that worker drained it.
    client_checks verify --api "$API" --s3 "$S3" --bucket "$BUCKET" --keys "$WORK/long.keys" --timeout 420 --lane "video:$worker"
  else
    fail "the worker processing the video ($worker) is the video lane's container ($VIDEO_WORKERS)"
  fi
else
  fail "the long video started processing ($(cat "$WORK/wait.err"))"
fi

stage "compose: teardown"
if [ "${E2E_KEEP:-0}" != 1 ]; then
  # The anonymous /tmp volume of every replica, stopped ones included.
  stack_volumes="$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" | xargs -r docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}')"
  compose down -v --remove-orphans --timeout 45 >"$WORK/down.log" 2>&1 || cat "$WORK/down.log"
  left="$(docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" | wc -l)"
  networks="$(docker network ls -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" | wc -l)"
  volumes_left=0
  for volume in $stack_volumes; do docker volume inspect "$volume" >/dev/null 2>&1 && volumes_left=$((volumes_left + 1)); done
  check "docker-compose down -v leaves no container ($left), network ($networks) or volume ($volumes_left of $(echo $stack_volumes | wc -w))" \
    test "$left" = 0 -a "$networks" = 0 -a "$volumes_left" = 0
fi
print_stages >&2
summary
