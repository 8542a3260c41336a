import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The Dockerfile's promises from the issue, read from its instructions in milliseconds (hadolint
 * and checkov lint it, scripts/check-image-steps.sh repeats its steps on the host, and
 * scripts/e2e-compose.sh builds and runs it on a real engine).
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const text = readFileSync(`${ROOT}Dockerfile`, "utf8");

interface Instruction {
  stage: string;
  keyword: string;
  args: string;
}

/** Instructions with continuation lines joined and comments dropped, each tagged with its stage. */
function instructions(): Instruction[] {
  const joined = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  let stage = "";
  return joined.map((line) => {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (keyword.toUpperCase() === "FROM") stage = args.split(/\s+AS\s+/i)[1] ?? args;
    return { stage, keyword: keyword.toUpperCase(), args };
  });
}

const all = instructions();
const runtime = all.filter((instruction) => instruction.stage === "runtime");
const of = (keyword: string, list = all) =>
  list.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

describe("Dockerfile", () => {
  test("is multi-stage on node:24-bookworm-slim: build with dev dependencies, run with production ones only", () => {
    assert.deepEqual(of("FROM"), [
      "node:24-bookworm-slim AS build",
      "node:24-bookworm-slim AS prod-deps",
      "node:24-bookworm-slim AS runtime",
    ]);
    const build = all
      .filter((instruction) => instruction.stage === "build" && instruction.keyword === "RUN")
      .map((instruction) => instruction.args);
    assert.ok(build.some((command) => /^npm install\b/.test(command) && !command.includes("--omit=dev")));
    assert.ok(build.includes("npm run build"));
    const prod = all
      .filter((instruction) => instruction.stage === "prod-deps" && instruction.keyword === "RUN")
      .map((instruction) => instruction.args);
    assert.ok(prod.some((command) => command.includes("npm install --omit=dev")));
    assert.deepEqual(
      of("COPY", runtime)
        .filter((args) => args.startsWith("--from"))
        .sort(),
      ["--from=build /app/dist ./dist", "--from=prod-deps /app/node_modules ./node_modules"],
    );
  });

  test("installs Debian ffmpeg, libheif's decoder and headless LibreOffice without recommends, and an init process", () => {
    const install = of("RUN", runtime).join(" ");
    assert.match(install, /apt-get install -y --no-install-recommends [^&]*\bffmpeg\b/);
    assert.match(
      install,
      /apt-get install -y --no-install-recommends [^&]*\blibheif-examples\b/,
      "HEIC photos need heif-convert",
    );
    for (const part of ["writer", "calc", "impress"]) {
      assert.match(
        install,
        new RegExp(`apt-get install -y --no-install-recommends [^&]*\\blibreoffice-${part}-nogui\\b`),
        `Office files (DOCUMENT_ENABLE_LIBREOFFICE) need headless LibreOffice ${part}`,
      );
    }
    assert.match(install, /\btini\b/);
    assert.match(install, /rm -rf \/var\/lib\/apt\/lists/);
    assert.deepEqual(of("ENTRYPOINT"), ['["/usr/bin/tini", "--", "node", "dist/cli.js"]']);
    assert.deepEqual(of("CMD"), ['["worker"]']);
    assert.deepEqual(of("STOPSIGNAL"), ["SIGTERM"]);
  });

  test("runs as a numeric non-root user, with MALLOC_ARENA_MAX=2 and a temp dir for a writable volume", () => {
    const [user] = of("USER", runtime);
    assert.match(
      user ?? "",
      /^[1-9][0-9]{4,}:[1-9][0-9]{4,}$/,
      "numeric UID:GID above 10000, so runAsNonRoot can verify it",
    );
    const env = of("ENV", runtime).join(" ");
    assert.match(env, /MALLOC_ARENA_MAX=2/);
    assert.match(env, /TEMP_DIR=\/tmp\//);
    assert.match(env, /NODE_ENV=production/);
  });

  test("bakes in no credentials, and the build context leaves local env files out", () => {
    assert.doesNotMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|API_TOKEN|REDIS_URL=/);
    assert.deepEqual(of("ARG"), []);
    const ignore = readFileSync(`${ROOT}.dockerignore`, "utf8")
      .split("\n")
      .map((line) => line.trim());
    assert.equal(
      ignore.find((line) => line && !line.startsWith("#")),
      "**",
      "everything is excluded unless listed",
    );
    assert.ok(ignore.includes("**/.env") && ignore.includes("**/.env.*"));
  });

  test("scripts/check-image-steps.sh repeats the same install commands", () => {
    const script = readFileSync(`${ROOT}scripts/check-image-steps.sh`, "utf8");
    assert.match(script, /npm install --no-audit --no-fund[^\n]*&& npm run build/);
    assert.match(script, /npm install --omit=dev --no-audit --no-fund/);
    assert.match(script, /setpriv --reuid 10001 --regid 10001/);
    assert.match(script, /node dist\/cli\.js worker/);
    assert.equal(of("USER", runtime)[0], "10001:10001");
  });
});
