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

export async function startHealthServer(port: number, registry: Registry, checks: ReadinessCheck[], isAlive: () => boolean): Promise<HealthServer> {
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
        const alive = isAlive();
        response.writeHead(alive ? 200 : 503, { "content-type": "application/json" });
        response.end(JSON.stringify({ status: alive ? "ok" : "stopping" }));
        return;
      }
      if (url === "/readyz") {
        const results = await Promise.all(checks.map(async (check) => [check.name, await check.check().catch(() => false)] as const));
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
