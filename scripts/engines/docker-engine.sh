#!/usr/bin/env bash
# A Docker Engine for the e2e scripts: the one DOCKER_HOST (or the default socket) points at when
# it answers, otherwise a dockerd started here — Debian's docker.io, no systemd — with its own
# socket, exec root and pid file under E2E_RUN and its data root (images, build cache) under
# E2E_CACHE, so images survive between runs. engine_down stops only a dockerd engine_up started,
# and puts back what it changed on the host. Sourced (after lib.sh and host-state.sh).

DOCKERD_RUN="$E2E_RUN/docker"
ENGINE_STARTED=0

engine_reachable() { docker info >/dev/null 2>&1; }

# The MTU of the default route's link: containers behind a smaller-MTU uplink otherwise stall on
# TLS handshakes with package registries.
uplink_mtu() {
  local link
  link="$(ip route show default 2>/dev/null | awk '!found { for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); found = 1; break } }')"
  cat "/sys/class/net/${link:-lo}/mtu" 2>/dev/null || echo 1500
}

engine_up() {
  apt_install docker.io docker-compose
  if engine_reachable; then
    log "docker: using the engine at ${DOCKER_HOST:-the default socket}"
    return 0
  fi
  mkdir -p "$DOCKERD_RUN" "$E2E_CACHE/docker"
  # One dockerd per data root.
  exec 8>"$E2E_CACHE/docker.lock"
  flock -w 600 8 || { log "docker: another run holds $E2E_CACHE/docker.lock"; return 1; }
  save_host_state docker
  local mtu
  mtu="$(uplink_mtu)"
  log "docker: starting dockerd (data root $E2E_CACHE/docker, MTU $mtu)"
  dockerd \
    --host "unix://$DOCKERD_RUN/docker.sock" \
    --data-root "$E2E_CACHE/docker" \
    --exec-root "$DOCKERD_RUN/exec" \
    --pidfile "$DOCKERD_RUN/dockerd.pid" \
    --storage-driver overlay2 \
    --exec-opt native.cgroupdriver=cgroupfs \
    --mtu "$mtu" \
    >"$DOCKERD_RUN/dockerd.log" 2>&1 &
  ENGINE_STARTED=1
  export DOCKER_HOST="unix://$DOCKERD_RUN/docker.sock"
  if ! wait_for 60 engine_reachable; then
    log "docker: dockerd did not answer within 60 s"
    tail -n 30 "$DOCKERD_RUN/dockerd.log" >&2
    return 1
  fi
}

engine_down() {
  [ "$ENGINE_STARTED" = 1 ] || return 0
  local pid
  pid="$(cat "$DOCKERD_RUN/dockerd.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "docker: stopping dockerd ($pid)"
    kill -TERM "$pid"
    wait_for 60 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
  fi
  # dockerd stops its containers and its supervised containerd itself; if it was killed, the
  # containerd it started is still known by its pid file.
  local containerd_pid
  containerd_pid="$(cat "$DOCKERD_RUN/exec/containerd/containerd.pid" 2>/dev/null || true)"
  [ -n "$containerd_pid" ] && kill -TERM "$containerd_pid" 2>/dev/null || true
  unmount_under "$DOCKERD_RUN"
  unmount_under "$E2E_CACHE/docker"
  rm -rf "$DOCKERD_RUN"
  restore_host_state docker
  ENGINE_STARTED=0
  flock -u 8 2>/dev/null || true
}
