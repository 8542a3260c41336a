import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of the emulator that injects the S3 faults a real emulator cannot
 * produce on demand (503 SlowDown, 500 InternalError, a dead endpoint). Requests pass through
 * unless the current rule says otherwise; SQS requests (X-Amz-Target: AmazonSQS.*) pass unless
 * the SQS rule (by action, e.g. "DeleteMessage") says to reset them.
 */
export type FaultRule = (request: {
  method: string;
  path: string;
}) => "pass" | { status: number; code: string } | "reset";

export interface FaultProxy {
  endpoint: string;
  setRule(rule: FaultRule): void;
  /** Faults for SQS requests, by action (`DeleteMessage`, `SendMessage`, …); default: all pass. */
  setSqsRule(rule: (action: string) => "pass" | "reset"): void;
  /** How many S3 requests each rule outcome produced. */
  counts: { passed: number; faulted: number };
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  let rule: FaultRule = () => "pass";
  let sqsRule: (action: string) => "pass" | "reset" = () => "pass";
  const counts = { passed: 0, faulted: 0 };
  const server = http.createServer((request, response) => {
    const target = String(request.headers["x-amz-target"] ?? "");
    const isSqs = target.startsWith("AmazonSQS");
    const decision = isSqs
      ? sqsRule(target.slice(target.indexOf(".") + 1))
      : rule({ method: request.method ?? "GET", path: request.url ?? "/" });
    if (decision === "reset") {
      counts.faulted += 1;
      request.socket.destroy();
      return;
    }
    if (decision !== "pass") {
      counts.faulted += 1;
      request.resume();
      response.writeHead(decision.status, { "content-type": "application/xml", "x-amz-request-id": "fault-proxy" });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${decision.code}</Code><Message>injected by the fault proxy</Message><RequestId>fault-proxy</RequestId></Error>`,
      );
      return;
    }
    if (!isSqs) counts.passed += 1;
    const upstream = http.request(
      {
        hostname: targetUrl.hostname,
        port: targetUrl.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setRule: (next) => {
      rule = next;
    },
    setSqsRule: (next) => {
      sqsRule = next;
    },
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
