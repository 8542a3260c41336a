import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * An HTTP proxy in front of the emulator that injects the S3 faults a real emulator cannot
 * produce on demand (503 SlowDown, 500 InternalError, a dead endpoint, a body cut short). Requests pass through
 * unless the current rule says otherwise; SQS requests (X-Amz-Target: AmazonSQS.*) pass unless
 * the SQS rule (by action, e.g. "DeleteMessage") says to reset them.
 */
export type FaultRule = (request: {
  method: string;
  path: string;
  /** The Range header, when the request has one. */
  range: string | undefined;
}) => "pass" | { status: number; code: string } | "reset" | BodyCut;

/**
 * The upstream answer goes through, but its body stops after `afterBytes`: `"clean"` drops the
 * Content-Length and ends the chunked body there (a proxy or store that truncates without an
 * error), `"reset"` keeps the headers and kills the connection (a dropped connection mid-body).
 */
export interface BodyCut {
  cutBody: "clean" | "reset";
  afterBytes: number;
}

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
      : rule({ method: request.method ?? "GET", path: request.url ?? "/", range: request.headers.range });
    if (decision === "reset") {
      counts.faulted += 1;
      request.socket.destroy();
      return;
    }
    if (decision !== "pass" && "status" in decision) {
      counts.faulted += 1;
      request.resume();
      response.writeHead(decision.status, { "content-type": "application/xml", "x-amz-request-id": "fault-proxy" });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${decision.code}</Code><Message>injected by the fault proxy</Message><RequestId>fault-proxy</RequestId></Error>`,
      );
      return;
    }
    const cut = decision === "pass" ? undefined : decision;
    if (cut) counts.faulted += 1;
    else if (!isSqs) counts.passed += 1;
    const upstream = http.request(
      {
        hostname: targetUrl.hostname,
        port: targetUrl.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (upstreamResponse) => {
        if (!cut) {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
          return;
        }
        const headers = { ...upstreamResponse.headers };
        if (cut.cutBody === "clean") delete headers["content-length"];
        response.writeHead(upstreamResponse.statusCode ?? 502, headers);
        forwardCut(upstreamResponse, response, cut);
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

/** Forwards the first `cut.afterBytes` of the body, then ends the response or kills its connection. */
function forwardCut(upstream: http.IncomingMessage, response: http.ServerResponse, cut: BodyCut): void {
  let left = cut.afterBytes;
  let done = false;
  upstream.on("data", (chunk: Buffer) => {
    if (done) return;
    if (chunk.length < left) {
      response.write(chunk);
      left -= chunk.length;
      return;
    }
    done = true;
    upstream.destroy();
    const finish = () => (cut.cutBody === "clean" ? response.end() : response.socket?.destroy());
    if (left > 0) response.write(chunk.subarray(0, left), finish);
    else finish();
  });
  upstream.on("end", () => {
    if (!done) response.end();
  });
}
