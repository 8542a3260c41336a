import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean>;
}

/**
 * `/metrics`, `/healthz` (the process answers) and `/readyz` (every dependency answers) on the
 * metrics port. Plain node:http: the worker has no other HTTP surface.
 */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(
  port: number,
  registry: Registry,
  checks: ReadinessCheck[],
  isAlive: () => boolean,
): Promise<HealthServer> {
  const server = http.createServer((request, response) => {
    void handle(request.url ?? "/", response);
  });
  async function handle(url: string, response: http.ServerResponse): Promise<void> {
    try {
      if (url === "/metrics") {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(await registry.metrics());
        return;
      }
      if (url === "/healthz") {
        // Liveness stays green while draining: a kubelet must not kill a pod finishing its jobs.
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ status: isAlive() ? "ok" : "draining" }));
        return;
      }
      if (url === "/readyz") {
        const results = await Promise.all(
          checks.map(async (check) => [check.name, await withTimeout(check.check(), CHECK_TIMEOUT_MS)] as const),
        );
        const ready = results.every(([, ok]) => ok) && isAlive();
        response.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
        response.end(JSON.stringify({ status: ready ? "ready" : "not-ready", checks: Object.fromEntries(results) }));
        return;
      }
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "not found" }));
    } catch {
      response.writeHead(500, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "internal error" }));
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A probe must answer within the kubelet's timeout even when a dependency hangs. */
const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  return Promise.race([check.catch(() => false), timeout]).finally(() => clearTimeout(timer));
}
