import { STATUS_CODES } from "node:http";
import type { ErrorRequestHandler, Response } from "express";
import { MediaError } from "../errors.ts";
import type { Logger } from "../logger.ts";

/**
 * Errors as `application/problem+json` (RFC 9457, https://www.rfc-editor.org/rfc/rfc9457).
 * `type` is a non-resolvable URN naming the problem, `code` repeats its last part for clients
 * that switch on it; nothing from a stack trace or a foreign error's message leaves the API.
 */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  [extension: string]: unknown;
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    detail?: string,
    extensions: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(detail ?? STATUS_CODES[status] ?? "error");
    this.name = "HttpProblem";
    this.status = status;
    this.code = code;
    this.extensions = extensions;
    this.headers = headers;
  }

  toBody(): ProblemBody {
    return {
      type: `urn:media-processor:problem:${this.code}`,
      title: STATUS_CODES[this.status] ?? "Error",
      status: this.status,
      detail: this.message,
      code: this.code,
      ...this.extensions,
    };
  }
}

export const notFound = (detail = "no such resource") => new HttpProblem(404, "not-found", detail);
export const badRequest = (detail: string, extensions: Record<string, unknown> = {}) =>
  new HttpProblem(400, "invalid-request", detail, extensions);
export const unsupportedMediaType = () =>
  new HttpProblem(415, "unsupported-media-type", "send the body as application/json");
export const conflict = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new HttpProblem(409, code, detail, extensions);

export function sendProblem(response: Response, problem: HttpProblem): void {
  for (const [name, value] of Object.entries(problem.headers)) response.setHeader(name, value);
  response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toBody()));
}

/** body-parser's own errors carry an HTTP status and a `type` naming what went wrong. */
interface ParserError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

const PARSER_PROBLEMS: Record<string, { code: string; detail: string }> = {
  "entity.too.large": { code: "body-too-large", detail: "the request body is larger than API_BODY_LIMIT_BYTES" },
  "entity.parse.failed": { code: "invalid-json", detail: "the request body is not valid JSON" },
  "encoding.unsupported": {
    code: "unsupported-encoding",
    detail: "the request body's Content-Encoding is not supported",
  },
  "charset.unsupported": { code: "unsupported-charset", detail: "the request body's charset is not supported" },
  "request.aborted": { code: "request-aborted", detail: "the client closed the request before its body arrived" },
  "request.size.invalid": {
    code: "invalid-content-length",
    detail: "the request body does not match its Content-Length",
  },
};

/** Turns anything thrown by a route into a problem; unknown errors become an opaque 500. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    const problem = toProblem(error);
    // Our bugs get the stack in the log; a dependency that is down gets one line.
    if (problem.status === 500)
      logger.error({ err: error, method: request.method, path: request.path }, "request failed");
    else if (problem.status > 500)
      logger.warn(
        { code: problem.code, cause: error instanceof Error ? error.message : String(error), path: request.path },
        "dependency failed",
      );
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendProblem(response, problem);
  };
}

export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const parser = (error ?? {}) as ParserError;
  const parserStatus = parser.status ?? parser.statusCode;
  if (parser.type && parserStatus && parserStatus >= 400 && parserStatus < 500) {
    const known = PARSER_PROBLEMS[parser.type];
    return new HttpProblem(
      parserStatus,
      known?.code ?? "invalid-request",
      known?.detail ?? "the request could not be read",
    );
  }
  // The router's own 4xx, e.g. a path whose percent-encoding is broken (/jobs/%E0%A4%A): its
  // URIError carries status 400 and is the client's mistake, not a 500.
  if (error instanceof URIError)
    return new HttpProblem(400, "invalid-request", "the request path is not valid percent-encoding");
  if (parserStatus && parserStatus >= 400 && parserStatus < 500 && parser.expose)
    return new HttpProblem(parserStatus, "invalid-request", "the request could not be read");
  // A dependency that is down (Redis, SQS) is the caller's cue to try again, not our bug.
  if ((error instanceof MediaError && error.category === "transient") || isRedisUnavailable(error)) {
    return new HttpProblem(
      503,
      "dependency-unavailable",
      "a dependency (Redis or SQS) did not answer; try again",
      {},
      { "retry-after": "5" },
    );
  }
  // A refusal from SQS or S3 (permissions, a missing queue, a request it will not take) is theirs, not ours.
  if (error instanceof MediaError && (error.category === "configuration" || error.code.startsWith("aws-"))) {
    return new HttpProblem(
      502,
      "dependency-refused",
      "SQS or S3 refused the request (permissions or a missing queue); the cause is in the logs",
    );
  }
  return new HttpProblem(500, "internal-error", "the request failed on the server; the cause is in its logs");
}

/** ioredis gives up on a command after maxRetriesPerRequest, or while its connection is down. */
function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "MaxRetriesPerRequestError") return true;
  const code = (error as NodeJS.ErrnoException).code;
  return (
    /^Connection is closed|^Stream isn't writeable/.test(error.message) ||
    code === "ECONNREFUSED" ||
    code === "ECONNRESET"
  );
}
