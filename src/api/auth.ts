import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { HttpProblem } from "./problem.ts";

/**
 * Bearer-token check for everything under /api (RFC 6750). Both sides are hashed to a fixed
 * length before `timingSafeEqual`, so neither the comparison nor a length check tells an
 * attacker how much of a guess was right.
 */
export function bearerAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (request, _response, next) => {
    const header = request.get("authorization");
    if (!header) {
      next(unauthorized("missing-token", "send Authorization: Bearer <API_TOKEN>", 'Bearer realm="media-processor"'));
      return;
    }
    const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      next(unauthorized("invalid-token", "the bearer token is not valid", 'Bearer realm="media-processor", error="invalid_token"'));
      return;
    }
    next();
  };
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function unauthorized(code: string, detail: string, challenge: string): HttpProblem {
  return new HttpProblem(401, code, detail, {}, { "www-authenticate": challenge });
}
