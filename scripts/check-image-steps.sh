#!/usr/bin/env bash
# Repeats the Dockerfile's install-and-start steps on this machine, in about a minute and with no
# engine: a broken build command, a runtime dependency left in devDependencies or a file the image
# forgets to copy fails here, before scripts/e2e-compose.sh builds the image for real.
#
#   build stage      npm install && npm run build            (copy of the build context only)
#   prod-deps stage  npm install --omit=dev, then typescript, source maps and pdfjs-dist's
#                    modern build and viewer removed, as the Dockerfile does
#   runtime stage    package*.json + prod node_modules + dist, run as UID 10001, read-only code
#   start            emulator + redis, then `node dist/cli.js worker`: /readyz answers, /metrics
#                    parses, one upload per registered processor is processed, SIGTERM stops it
#
# Keep in step with the Dockerfile.
#
#   bash scripts/check-image-steps.sh            (KEEP_WORK=1 keeps the temp copies and logs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d /tmp/media-image-steps.XXXXXX)"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # KEEP_WORK=1 keeps the build, the runtime copy and the logs for a look after a failure.
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; for log in "$WORK"/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 40 "$log"; }; done; exit 1; }
free_port() { node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'; }

# Everything the Dockerfile COPYs, and nothing else (.dockerignore keeps the rest out).
copy_context() {
  mkdir -p "$1"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$ROOT/tsconfig.json" "$ROOT/tsconfig.build.json" "$1/"
  cp -r "$ROOT/src" "$1/src"
}

step "build stage: npm install && npm run build"
copy_context "$WORK/build"
(cd "$WORK/build" && npm install --no-audit --no-fund --no-save --loglevel=error && npm run build --silent)
[ -f "$WORK/build/dist/cli.js" ] || fail "npm run build produced no dist/cli.js"

step "prod-deps stage: npm install --omit=dev"
mkdir -p "$WORK/prod-deps"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/prod-deps/"
(cd "$WORK/prod-deps" && npm install --omit=dev --no-audit --no-fund --no-save --loglevel=error \
  && rm -rf node_modules/typescript node_modules/.bin/tsc node_modules/.bin/tsserver node_modules/pdfjs-dist/build node_modules/pdfjs-dist/web \
  && find node_modules -name '*.map' -type f -delete)

step "runtime stage: package*.json + production node_modules + dist"
APP="$WORK/app"
mkdir -p "$APP"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$APP/"
cp -r "$WORK/prod-deps/node_modules" "$APP/node_modules"
cp -r "$WORK/build/dist" "$APP/dist"
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || fail "ffmpeg/ffprobe missing (the image installs Debian's ffmpeg)"
command -v heif-convert >/dev/null || fail "heif-convert missing (the image installs Debian's libheif-examples)"
command -v soffice >/dev/null || fail "soffice missing (the image installs Debian's libreoffice-writer/calc/impress-nogui)"
chmod 755 "$WORK"
TEMP_ROOT="$WORK/tmp"
mkdir -p "$TEMP_ROOT"
chmod 1777 "$TEMP_ROOT"

# The image runs as UID 10001 with code owned by root; do the same when we can, with the
# Dockerfile's own user (libraries such as @napi-rs/canvas call os.homedir() at load time, which
# fails for a UID without a passwd entry).
AS_APP_USER=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  getent group 10001 >/dev/null || groupadd --system --gid 10001 media
  getent passwd 10001 >/dev/null || useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin media
  AS_APP_USER=(setpriv --reuid 10001 --regid 10001 --clear-groups)
fi

EMULATOR_PORT="$(free_port)"
REDIS_PORT="$(free_port)"
METRICS_PORT="$(free_port)"
# The image's ENV, then what compose sets for the worker.
export NODE_ENV=production MALLOC_ARENA_MAX=2 XDG_CACHE_HOME="$TEMP_ROOT/.cache" HOME=/nonexistent
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=emulator AWS_SECRET_ACCESS_KEY=emulator AWS_S3_FORCE_PATH_STYLE=true
export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT" MEDIA_BUCKET=media-uploads MAX_PROCESSING_RETRIES=3
export MEDIA_PROCESSING_QUEUE_URL="http://127.0.0.1:$EMULATOR_PORT/000000000000/media-processing"
export MEDIA_DLQ_URL="http://127.0.0.1:$EMULATOR_PORT/000000000000/media-processing-dlq"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" TEMP_DIR="$TEMP_ROOT/media-processor" METRICS_PORT SHUTDOWN_GRACE_PERIOD=10s
export LOG_LEVEL=info
# The image ships LibreOffice: convert one Office file as the image's user would.
export DOCUMENT_ENABLE_LIBREOFFICE=true

step "start redis-server :$REDIS_PORT and the emulator (node dist/cli.js emulator) :$EMULATOR_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
(cd "$APP" && EMULATOR_PORT="$EMULATOR_PORT" exec "${AS_APP_USER[@]}" node dist/cli.js emulator) >"$WORK/emulator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$EMULATOR_PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$EMULATOR_PORT/health" >/dev/null || fail "emulator did not answer /health"

step "start the worker (node dist/cli.js worker) and wait for /readyz"
(cd "$APP" && exec "${AS_APP_USER[@]}" node dist/cli.js worker) >"$WORK/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
ready=""
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz" >"$WORK/readyz.json" 2>/dev/null; then ready=yes; break; fi
  kill -0 "$WORKER_PID" 2>/dev/null || fail "the worker exited before it was ready"
  sleep 0.5
done
[ -n "$ready" ] || fail "/readyz did not answer 200 within 60 s"
echo "  /readyz: $(cat "$WORK/readyz.json")"

step "/metrics: every contract metric present; promtool parses it when installed"
sleep 1 # the queue-depth poller's first round
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt"
for metric in media_jobs_in_flight media_queue_messages process_resident_memory_bytes; do
  grep -q "^# TYPE $metric " "$WORK/metrics.txt" || fail "/metrics lacks $metric"
done
grep -q '^media_queue_messages{queue="media",state="visible"}' "$WORK/metrics.txt" || fail "media queue depth not polled"
PROMTOOL="$(command -v promtool || echo "$(go env GOPATH 2>/dev/null)/bin/promtool")"
if [ -x "$PROMTOOL" ]; then
  set +e
  "$PROMTOOL" check metrics <"$WORK/metrics.txt" >"$WORK/promtool.log" 2>&1
  status=$?
  set -e
  # 3 = lint findings only (prom-client's nodejs_* gauges end in _total); 1 = unparseable.
  { [ "$status" = 0 ] || [ "$status" = 3 ]; } && ! grep -q '^media_' "$WORK/promtool.log" || fail "promtool check metrics: $(cat "$WORK/promtool.log")"
  echo "  promtool check metrics: parsed (exit $status)"
else
  echo "  promtool not installed: exposition parse check skipped (scripts/check-deploy.sh builds it)"
fi

step "one small upload per registered processor; the production install processes each"
# The processors this build registers, from the worker's startup log line.
PROCESSORS="$(node -e '
  for (const line of require("node:fs").readFileSync(process.argv[1], "utf8").split("\n")) {
    try { const entry = JSON.parse(line); if (Array.isArray(entry.processors)) { console.log(entry.processors.join(" ")); break; } } catch {}
  }' "$WORK/worker.log")"
echo "  processors: ${PROCESSORS:-none found in the worker log}"
MEDIA="$WORK/media"
mkdir -p "$MEDIA"
for processor in $PROCESSORS; do
  case "$processor" in
    audio) ffmpeg -v error -f lavfi -i "sine=frequency=440:duration=1" -ac 1 -ar 22050 "$MEDIA/check-tone.wav" ;;
    video) ffmpeg -v error -f lavfi -i "testsrc=size=160x120:rate=15:duration=1" -pix_fmt yuv420p -c:v libx264 -preset veryfast "$MEDIA/check-clip.mp4" ;;
    image)
      # A HEIC as well: the image decodes it with libheif's heif-convert, not with sharp.
      ffmpeg -v error -f lavfi -i "testsrc=size=96x64" -frames:v 1 "$WORK/check-heic-source.png"
      heif-enc -q 60 -o "$MEDIA/check-photo.heic" "$WORK/check-heic-source.png" >/dev/null
      ;;
    document)
      # The PDF is written by the uploader below; a .docx written by LibreOffice goes through LibreOffice again.
      printf '<html><body><p>media-processor image steps</p></body></html>' >"$WORK/check-office.html"
      soffice "-env:UserInstallation=file://$WORK/soffice-profile" --headless --convert-to "docx:MS Word 2007 XML" --outdir "$MEDIA" "$WORK/check-office.html" >/dev/null 2>&1 \
        || fail "soffice could not write the sample .docx"
      ;;
    *) echo "  no sample for processor \"$processor\": not checked" ;;
  esac
done
(cd "$APP" && node --input-type=module -e '
  import { readdirSync, readFileSync } from "node:fs";
  import path from "node:path";
  import sharp from "sharp";
  import { S3Client, PutObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
  const [mediaDir, processorList] = process.argv.slice(1);
  const processors = processorList.split(" ").filter(Boolean);
  const files = new Map(readdirSync(mediaDir).map((name) => [name, readFileSync(path.join(mediaDir, name))]));
  if (processors.includes("image")) {
    files.set("check-image.png", await sharp({ create: { width: 64, height: 48, channels: 3, background: "#3a6ea5" } }).png().toBuffer());
  }
  if (processors.includes("document")) files.set("check-document.pdf", minimalPdf("media-processor image steps"));
  if (files.size === 0) { console.error("nothing to upload: no known processor registered"); process.exit(1); }
  const s3 = new S3Client({ region: "us-east-1", endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true });
  const prefix = "tenants/t1/users/u1/media/";
  for (const [name, body] of files) await s3.send(new PutObjectCommand({ Bucket: "media-uploads", Key: prefix + name, Body: body }));
  // The manifest of <file> is processed/<file>_manifest.json (src/storage/output-keys.ts).
  const waiting = new Set([...files.keys()].map((name) => `${prefix}processed/${name}_manifest.json`));
  const deadline = Date.now() + 120_000;
  while (waiting.size > 0 && Date.now() < deadline) {
    for (const key of [...waiting]) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: "media-uploads", Key: key }));
        waiting.delete(key);
        console.log(`  ${key} written`);
      } catch {}
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (waiting.size > 0) { console.error(`not processed within 120 s: ${[...waiting].join(", ")}`); process.exit(1); }

  /** A one-page PDF with a line of text and a correct cross-reference table. */
  function minimalPdf(text) {
    const objects = [
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
      null,
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ];
    const stream = `BT /F1 14 Tf 20 100 Td (${text}) Tj ET`;
    objects[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
    let pdf = "%PDF-1.4\n";
    const offsets = objects.map((body, index) => { const offset = pdf.length; pdf += `${index + 1} 0 obj\n${body}\nendobj\n`; return offset; });
    const xref = pdf.length;
    pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("")}`;
    pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(pdf, "latin1");
  }
' "$MEDIA" "$PROCESSORS") || fail "uploads were not processed"

step "SIGTERM: the worker stops within its grace period and exits 0"
kill -TERM "$WORKER_PID"
stopped=""
# An idle worker lets the long poll under way end before it exits (a receive aborted client-side
# can still take a message on the server): up to SQS_WAIT_TIME_SECONDS (20 s by default) beside
# the grace period, plus the consumer's 5 s margin. 20 s was the whole bound here, and a SIGTERM
# sent just after a poll began missed it (19.4 s on a slow machine).
for _ in $(seq 1 60); do
  if ! kill -0 "$WORKER_PID" 2>/dev/null; then stopped=yes; break; fi
  sleep 0.5
done
[ -n "$stopped" ] || fail "the worker still runs 30 s after SIGTERM (SHUTDOWN_GRACE_PERIOD=10s, SQS_WAIT_TIME_SECONDS=20)"
set +e
wait "$WORKER_PID"
status=$?
set -e
[ "$status" = 0 ] || fail "the worker exited $status after SIGTERM"

step "image steps passed"
