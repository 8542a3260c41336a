import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { freePort } from "./free-port.ts";
import { isRunning, killOnExit } from "./stop-on-exit.ts";

/**
 * A throwaway `redis-server` child process (Debian's redis-server package) on a free loopback
 * port, without persistence, for the local stack and tests. `stop()` and `start()` again on the
 * same port let fault tests take Redis away and bring it back.
 */
export class RedisServerProcess {
  readonly port: number;
  private child: ChildProcess | undefined;
  private dataDir: string | undefined;
  /** A data directory the caller owns (it holds a snapshot to load): destroy() leaves it. */
  private readonly ownDataDir: boolean;

  /** Keep data across stop/start (append-only file, fsync always), as a real deployment does. */
  private readonly persistent: boolean;

  private constructor(port: number, persistent: boolean, dataDir: string | undefined) {
    this.port = port;
    this.persistent = persistent;
    this.dataDir = dataDir;
    this.ownDataDir = dataDir === undefined;
  }

  /**
   * `dataDir`: start from the `dump.rdb` in that directory (Redis loads it at start) and write
   * `SAVE`s there; the directory is the caller's and outlives the process.
   */
  static async start(
    port?: number,
    options: { persistent?: boolean; dataDir?: string } = {},
  ): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(port ?? (await freePort()), options.persistent ?? false, options.dataDir);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server's process id while it runs (the benchmark pins it to a CPU). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.dataDir ??= await mkdtemp(path.join(os.tmpdir(), "mp-redis-"));
    const child = spawn(
      process.env.REDIS_SERVER_BIN ?? "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        this.persistent ? "yes" : "no",
        "--appendfsync",
        "always",
        "--dir",
        this.dataDir,
        "--loglevel",
        "warning",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    // Gone with this process, however it ends (stop() is the graceful way).
    this.child = killOnExit(child);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", resolve);
    });
    if (spawned) throw new Error(`cannot start redis-server (apt-get install redis-server): ${spawned.message}`);
    await this.waitUntilReady(stderr);
  }

  private async waitUntilReady(stderr: string): Promise<void> {
    const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      // Loading a snapshot of a million jobs takes a while (Redis answers LOADING until it is in).
      const attempts = this.ownDataDir ? 100 : 12_000;
      for (let attempt = 0; attempt < attempts; attempt++) {
        try {
          await probe.connect();
          await probe.ping();
          return;
        } catch {
          probe.disconnect();
          if (!this.child || !isRunning(this.child)) throw new Error(`redis-server exited: ${stderr}`);
          await sleep(50);
        }
      }
      throw new Error(`redis-server did not answer within ${(attempts * 50) / 1000} s`);
    } finally {
      probe.disconnect();
    }
  }

  /** Stops the process (SIGTERM, then SIGKILL after 2 s). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || !isRunning(child)) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
    await exited;
    clearTimeout(timer);
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dataDir && this.ownDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}
