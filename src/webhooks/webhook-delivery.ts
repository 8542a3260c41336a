import http from "node:http";
import https from "node:https";
import { guardedLookup, urlProblem, type TargetPolicy } from "./webhook-target.ts";

/** What one POST of one delivery did. `status` is the receiver's HTTP status when it answered. */
export interface AttemptResult {
  ok: boolean;
  status?: number;
  error: string;
}

/** A receiver's answer is read up to this many bytes (only for the log line): it is not ours to store. */
const MAX_RESPONSE_BYTES = 4096;

/**
 * POSTs `body` to `url` once: the SSRF rules checked on the URL and on every address its name
 * resolves to (in the connection's own lookup), redirects not followed (a 3xx is a failure:
 * following one would let a receiver point us anywhere), a hard timeout over the whole exchange.
 * Success is any 2xx.
 */
export function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  policy: TargetPolicy,
  timeoutMs: number,
): Promise<AttemptResult> {
  const problem = urlProblem(url, policy);
  if (problem) return Promise.resolve({ ok: false, error: `refused target: ${problem}` });
  const target = new URL(url);
  const transport = target.protocol === "https:" ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = transport.request(
      target,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "media-processor-webhooks/1",
          ...headers,
        },
        lookup: guardedLookup(policy) as unknown as typeof import("node:dns").lookup,
        agent: false,
      },
      (response) => {
        let read = 0;
        response.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) response.destroy();
        });
        const status = response.statusCode ?? 0;
        const done = () =>
          finish(
            status >= 200 && status < 300
              ? { ok: true, status, error: "" }
              : {
                  ok: false,
                  status,
                  error: status >= 300 && status < 400 ? `redirect (${status}) not followed` : `HTTP ${status}`,
                },
          );
        response.once("end", done);
        response.once("close", done);
        response.resume();
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish({ ok: false, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    request.once("error", (error: Error & { code?: string }) =>
      finish({
        ok: false,
        error:
          error.code === "webhook-target-blocked" || error.name === "BlockedTargetError"
            ? `refused target: ${error.message}`
            : error.message,
      }),
    );
    request.end(body);
  });
}
