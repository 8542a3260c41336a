# One image for every role: `worker` (default), `api`, `all` (both in one process, for local
# use) and `emulator` (the local S3+SQS stand-in used by docker-compose).
#
#   docker build -t media-processor .
#   docker run --rm media-processor worker
#
# CI builds this file on a real engine (scripts/e2e-compose.sh, scripts/e2e-kubernetes.sh);
# scripts/check-image-steps.sh repeats its install-and-start steps on the host in seconds, so a
# broken step shows up before the image build; keep the two in step.

# --- build: all dependencies, TypeScript → dist/ ----------------------------------------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
# `npm install` rather than `npm ci`: @napi-rs/canvas lists prebuilt packages for platforms
# whose matching versions some registries (mirrors) lack, and npm ci refuses a lock file without
# them; with a lock file present npm install resolves the same versions and leaves it untouched.
RUN npm install --no-audit --no-fund --no-save
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- production dependencies only ----------------------------------------------------------------
FROM node:24-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Then drop what nothing loads at run time: typescript (23 MB; an optional peer of valibot, which
# fauxqs uses, so npm keeps the dev dependency as "devOptional"), source maps, and pdfjs-dist's
# modern build and viewer (the document processor loads pdfjs-dist/legacy/build only).
RUN npm install --omit=dev --no-audit --no-fund --no-save \
 && npm cache clean --force \
 && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver \
      node_modules/pdfjs-dist/build node_modules/pdfjs-dist/web \
 && find node_modules -name '*.map' -type f -delete

# --- runtime -------------------------------------------------------------------------------------
FROM node:24-bookworm-slim AS runtime

# ffmpeg/ffprobe for video and audio; libheif's heif-convert (with libde265) for HEIC photos,
# which the sharp build cannot decode; tini as PID 1. Versions are not pinned on purpose: the
# Debian stable suite only ships security and bug fixes, and a pin would break the build the
# day the pinned version leaves the mirror.
# Debian's ffmpeg links libGL (through libavdevice), whose package chain ends in Mesa's DRI
# drivers and the LLVM they JIT with (~165 MB); those are only ever dlopen()ed to create an
# OpenGL context, which neither ffmpeg, ffprobe nor headless LibreOffice does (LibreOffice links
# libGL and libepoxy too, for its OpenGL canvas, which a conversion never opens), so they are
# purged: no binary or library in the image links them, and the e2e runs prove the tools work.
# LibreOffice's headless Writer, Calc and Impress convert Office documents when
# DOCUMENT_ENABLE_LIBREOFFICE=true (off by default: README.md says why).
# The service user has a UID above 10000, outside the range host accounts use, so a container
# escape does not land on a real host user; no home directory, no login shell.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libheif-examples libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui tini ca-certificates \
 && dpkg --purge --force-depends libgl1-mesa-dri libllvm15 libz3-4 \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 media \
 && useradd --system --uid 10001 --gid media --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin media

WORKDIR /app
# package.json is needed at run time: it marks dist/*.js as ES modules. Files stay owned by
# root, so the unprivileged process cannot rewrite its own code.
COPY package.json package-lock.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# MALLOC_ARENA_MAX=2: with glibc's default arenas sharp runs one libvips thread per image and
# uses a quarter more memory (DESIGN.md, performance facts). TEMP_DIR must be a writable
# volume: the chart and compose mount one there, and the root filesystem may be read-only.
# XDG_CACHE_HOME keeps fontconfig and friends off the read-only home directory.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    TEMP_DIR=/tmp/media-processor \
    XDG_CACHE_HOME=/tmp/.cache \
    METRICS_PORT=9464 \
    API_PORT=8080

# By number, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# 9464: worker /metrics /healthz /readyz; 8080: job API; 4566: the emulator role.
EXPOSE 9464 8080 4566

# Liveness for plain Docker (Kubernetes uses the chart's probes instead). The api role has no
# worker port: compose overrides HEALTHCHECK_URL for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL || 'http://127.0.0.1:' + (process.env.METRICS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# tini forwards SIGTERM to Node, which stops receiving, drains or releases its jobs and exits;
# it also reaps ffmpeg children orphaned by a crash. No `-g`: signalling the whole process group
# would kill running ffmpeg jobs before Node can drain them.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "node", "dist/cli.js"]
CMD ["worker"]
