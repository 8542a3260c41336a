import { Writable } from "node:stream";
import { Ajv2020 } from "ajv/dist/2020.js";
import { pino } from "pino";
import addFormats from "ajv-formats";
import { loadApiConfig, type ApiConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/logger.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { startApiServer, type ApiServer } from "../../src/api-server.ts";
import { startTestStack, type TestStack, type TestStackOptions } from "../helpers/stack.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * A test stack (redis-server, emulator, worker) plus the API started in-process on port 0
 * against the same configuration, a fetch helper that sends the token, and a check of every
 * response against the OpenAPI document.
 */
export const TEST_TOKEN = "test-token-0123456789abcdef";

export interface ApiTestStack {
  stack: TestStack;
  api: ApiServer;
  config: ApiConfig;
  baseUrl: string;
  /** `T` types the body as the test expects it; the contract check is what verifies it. */
  call<T = Record<string, unknown>>(method: string, path: string, options?: CallOptions): Promise<ApiResponse<T>>;
  /** Polls a background action (DLQ redrive, bulk action) until it is no longer running. */
  waitForAction(id: string, timeoutMs?: number): Promise<ActionBody>;
  stop(): Promise<void>;
}

export interface CallOptions {
  /** A JSON body (sent as application/json), or a raw string with `contentType`. */
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  /** Override the Authorization header; null sends none. */
  authorization?: string | null;
  /** The OpenAPI path template the response is checked against; derived when omitted. */
  operation?: string;
}

export interface ActionBody {
  id: string;
  kind: string;
  state: string;
  by: string;
  progress: Record<string, unknown> & {
    moved?: number;
    jobs?: Array<{ id: string; requeued: boolean; status: string }>;
  };
  error?: string;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface ApiTestStackOptions extends TestStackOptions {
  apiEnv?: Record<string, string>;
  /** Runs once the stack is up and before the API starts (e.g. to create an intake queue); its variables join apiEnv. */
  beforeApi?: (stack: TestStack) => Promise<Record<string, string>>;
  /** Collects the API's log lines (JSON, level info and up) here, for audit assertions. */
  apiLogLines?: string[];
}

export async function startApiTestStack(options: ApiTestStackOptions = {}): Promise<ApiTestStack> {
  const stack = await startTestStack(options);
  const extra = options.beforeApi ? await options.beforeApi(stack) : {};
  // Queue depths refresh often here, so tests that wait for a depth do not wait long.
  const config = loadApiConfig({
    ...stack.envFor(),
    API_PORT: "0",
    API_TOKEN: TEST_TOKEN,
    API_QUEUE_DEPTH_INTERVAL: "250ms",
    API_STATS_CACHE: "0",
    ...options.apiEnv,
    ...extra,
  });
  const logger = options.apiLogLines
    ? collectingLogger(options.apiLogLines)
    : createLogger(config.logLevel, { role: "api" });
  const api = await startApiServer(config, { logger });
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const harness: ApiTestStack = {
    stack,
    api,
    config,
    baseUrl,
    async call<T>(method: string, path: string, callOptions: CallOptions = {}): Promise<ApiResponse<T>> {
      const headers: Record<string, string> = {};
      if (callOptions.authorization !== null)
        headers.authorization = callOptions.authorization ?? `Bearer ${TEST_TOKEN}`;
      let body: string | undefined;
      if (callOptions.rawBody !== undefined) {
        body = callOptions.rawBody;
        headers["content-type"] = callOptions.contentType ?? "application/json";
      } else if (callOptions.body !== undefined) {
        body = JSON.stringify(callOptions.body);
        headers["content-type"] = "application/json";
      }
      const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      const contentType = response.headers.get("content-type") ?? "";
      const parsed: unknown = /json/.test(contentType) && text ? JSON.parse(text) : text;
      const result: ApiResponse<T> = { status: response.status, headers: response.headers, body: parsed as T, text };
      assertMatchesContract(method, callOptions.operation ?? templateOf(path), result);
      return result;
    },
    async waitForAction(id, timeoutMs = 60_000) {
      const action = await waitForValue(
        async () => {
          const response = await harness.call<{ action: ActionBody }>("GET", `/api/media/actions/${id}`);
          if (response.status !== 200) throw new Error(`action ${id}: ${response.status} ${response.text}`);
          return response.body.action;
        },
        (current) => current.state !== "running",
        (last) => `action ${id} to finish; still running: ${JSON.stringify(last?.progress)}`,
        timeoutMs,
      );
      return action;
    },
    async stop() {
      await api.stop(1_000);
      await stack.stop();
    },
  };
  return harness;
}

function collectingLogger(lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return pino({ level: "info", base: { role: "api" } }, sink);
}

// ---- contract check -------------------------------------------------------------------------

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: "openapi.json", components: openApiDocument.components }, "openapi.json");

type Operation = { responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }> };

/** `/api/media/jobs/0123…?x=1` → `/api/media/jobs/{id}`. */
export function templateOf(path: string): string {
  const bare = path.split("?")[0]!;
  const exact = Object.keys(openApiDocument.paths).find((template) => template === bare);
  if (exact) return exact;
  if (/^\/api\/media\/actions\/[^/]+$/.test(bare)) return "/api/media/actions/{id}";
  if (/^\/api\/media\/webhooks\/deliveries\/[^/]+\/replay$/.test(bare))
    return "/api/media/webhooks/deliveries/{id}/replay";
  if (/^\/api\/media\/webhooks\/deliveries\/[^/]+$/.test(bare)) return "/api/media/webhooks/deliveries/{id}";
  return bare.replace(/^\/api\/media\/jobs\/[^/]+/, "/api/media/jobs/{id}");
}

/**
 * Fails when a response has a status the document does not list for the operation, a content
 * type it does not list for that status, or a JSON body its schema refuses. 405 and unknown
 * paths are not operations and are not checked.
 */
export function assertMatchesContract(method: string, template: string, response: ApiResponse): void {
  const item = (openApiDocument.paths as Record<string, Record<string, unknown>>)[template];
  const operation = item?.[method.toLowerCase()] as Operation | undefined;
  if (!operation || response.status === 405) return;
  const documented = operation.responses[String(response.status)];
  if (!documented)
    throw new Error(
      `contract: ${method} ${template} answered ${response.status}, which the document does not list: ${response.text.slice(0, 300)}`,
    );
  if (!documented.content) return;
  const contentType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const media = documented.content[contentType];
  if (!media)
    throw new Error(
      `contract: ${method} ${template} ${response.status} sent ${contentType}, documented: ${Object.keys(documented.content).join(", ")}`,
    );
  if (!media.schema || !contentType.includes("json")) return;
  const validate = ajv.compile(rewriteRefs(media.schema) as object);
  if (!validate(response.body)) {
    throw new Error(
      `contract: ${method} ${template} ${response.status} body does not match: ${ajv.errorsText(validate.errors)}\n${response.text.slice(0, 500)}`,
    );
  }
}

/** `#/components/…` refs point into the document registered as openapi.json. */
function rewriteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (schema && typeof schema === "object") {
    return Object.fromEntries(
      Object.entries(schema).map(([key, value]) => [
        key,
        key === "$ref" && typeof value === "string" ? `openapi.json${value}` : rewriteRefs(value),
      ]),
    );
  }
  return schema;
}
