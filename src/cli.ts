#!/usr/bin/env node
import { ConfigError, loadApiConfig, loadConfig, loadEmulatorConfig } from "./config/config.ts";
import { createLogger } from "./logger.ts";

/**
 * Entry point of the image and the npm scripts. One command per role:
 *   worker            consume the media queue (the container's default)
 *   api               the job API and the dashboard on API_PORT
 *   all               worker and API in one process (local use)
 *   emulator          S3+SQS emulator with bucket notifications, for docker-compose
 *   demo [files…]     end-to-end run on the embedded local stack (--out DIR, --json)
 *   dev               embedded local stack + worker until Ctrl-C
 *   upload FILE [KEY] put a file into the dev stack and send its S3 event
 */
const USAGE = "usage: media-processor <worker|api|all|emulator|demo|dev|upload> [args]\n";

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "worker":
      return runWorker();
    case "api":
      return runApi();
    case "all":
      return runAll();
    case "emulator":
      return runEmulatorCommand();
    case "demo": {
      const { parseDemoArgs, runDemo } = await import("./dev/demo.ts");
      return runDemo(parseDemoArgs(args));
    }
    case "dev": {
      const { runDev } = await import("./dev/dev-mode.ts");
      await runDev();
      return 0;
    }
    case "upload": {
      const { runUpload } = await import("./dev/dev-mode.ts");
      return runUpload(args);
    }
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === "--help" ? 0 : 2;
  }
}

async function runWorker(): Promise<number> {
  const config = loadConfig();
  const { startWorker } = await import("./worker.ts");
  const logger = createLogger(config.logLevel, { workerId: config.workerId });
  const worker = await startWorker(config, { logger });
  await waitForSignal(logger);
  await worker.stop();
  return 0;
}

async function runApi(): Promise<number> {
  const config = loadApiConfig();
  const { startApiServer } = await import("./api-server.ts");
  const logger = createLogger(config.logLevel, { role: "api" });
  const api = await startApiServer(config, { logger });
  await waitForSignal(logger);
  await api.stop();
  return 0;
}

/** Worker and API in one process; the API stops first so nobody acts on a draining worker. */
async function runAll(): Promise<number> {
  const config = loadApiConfig();
  const [{ startWorker }, { startApiServer }] = await Promise.all([import("./worker.ts"), import("./api-server.ts")]);
  const logger = createLogger(config.logLevel, { workerId: config.workerId });
  const worker = await startWorker(config, { logger });
  const api = await startApiServer(config, { logger: logger.child({ role: "api" }) }).catch(async (error: unknown) => {
    await worker.stop();
    throw error;
  });
  await waitForSignal(logger);
  await api.stop();
  await worker.stop();
  return 0;
}

async function runEmulatorCommand(): Promise<number> {
  const { startEmulator } = await import("./dev/emulator.ts");
  const { logLevel, ...settings } = loadEmulatorConfig();
  const logger = createLogger(logLevel, { role: "emulator" });
  const emulator = await startEmulator({ ...settings, logger });
  await waitForSignal(logger);
  await emulator.stop();
  return 0;
}

function waitForSignal(logger: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, "signal received; shutting down");
      resolve();
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
