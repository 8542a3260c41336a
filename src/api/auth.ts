import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler, Response } from "express";
import type { ApiTokenSpec } from "../config/config.schema.ts";
import { HttpProblem } from "./problem.ts";

/**
 * Bearer tokens with scopes (RFC 6750). A token is known by the SHA-256 of its value; the
 * presented token is hashed and compared with every configured hash by `timingSafeEqual` (no
 * early exit), so neither the comparison nor a length check tells an attacker how much of a
 * guess was right. The request then carries its principal: the token's id (what audit records
 * name, never the token), its scope, and the tenant it is limited to.
 *
 * Scopes nest: `read` (every GET) < `operate` (retry, cancel, enqueue, redrive, bulk actions)
 * < `admin` (deleting DLQ messages). A tenant-limited token sees and changes only that
 * tenant's jobs, and none of the fleet-wide views (stats, queues, workers, DLQ, actions).
 */
export const SCOPES = ["read", "operate", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export interface Principal {
  /** Token id from API_TOKENS (`api-token` for API_TOKEN, `anonymous` without auth). */
  id: string;
  scope: Scope;
  tenant: string | undefined;
}

const ANONYMOUS: Principal = { id: "anonymous", scope: "admin", tenant: undefined };

/** Authenticates everything it is mounted on; with no tokens (API_INSECURE_NO_AUTH) everyone is the admin `anonymous`. */
export function bearerAuth(tokens: readonly ApiTokenSpec[]): RequestHandler {
  const known = tokens.map((spec) => ({
    principal: { id: spec.id, scope: spec.scope, tenant: spec.tenant } satisfies Principal,
    digest: Buffer.from(spec.sha256, "hex"),
  }));
  return (request, response, next) => {
    if (known.length === 0) {
      response.locals.principal = ANONYMOUS;
      next();
      return;
    }
    const header = request.get("authorization");
    if (!header) {
      next(unauthorized("missing-token", "send Authorization: Bearer <token>", 'Bearer realm="media-processor"'));
      return;
    }
    const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
    const presented = digest(match?.[1] ?? "");
    let found: Principal | undefined;
    for (const candidate of known) {
      // Every candidate is compared, found or not: the time taken does not depend on which matched.
      if (timingSafeEqual(presented, candidate.digest) && match) found = candidate.principal;
    }
    if (!found) {
      next(
        unauthorized(
          "invalid-token",
          "the bearer token is not valid",
          'Bearer realm="media-processor", error="invalid_token"',
        ),
      );
      return;
    }
    response.locals.principal = found;
    next();
  };
}

export function principalOf(response: Response): Principal {
  return (response.locals.principal as Principal | undefined) ?? ANONYMOUS;
}

/** Throws 403 unless the principal's scope includes `needed`. */
export function requireScope(principal: Principal, needed: Scope): void {
  if (SCOPES.indexOf(principal.scope) < SCOPES.indexOf(needed)) {
    throw new HttpProblem(
      403,
      "insufficient-scope",
      `this needs a token with scope ${needed}; token ${principal.id} has ${principal.scope}`,
      { requiredScope: needed },
      {
        "www-authenticate": `Bearer realm="media-processor", error="insufficient_scope", scope="${needed}"`,
      },
    );
  }
}

/** Throws 403 for a tenant-limited token: fleet-wide views and actions are not a tenant's. */
export function requireFleetToken(principal: Principal): void {
  if (principal.tenant !== undefined) {
    throw new HttpProblem(
      403,
      "tenant-scoped-token",
      `token ${principal.id} is limited to tenant ${principal.tenant}; this view covers the whole fleet`,
    );
  }
}

/** Whether a tenant-limited principal may see a job of `tenantId` (an unrestricted one sees all). */
export function canSeeTenant(principal: Principal, tenantId: string | undefined): boolean {
  return principal.tenant === undefined || principal.tenant === tenantId;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function unauthorized(code: string, detail: string, challenge: string): HttpProblem {
  return new HttpProblem(401, code, detail, {}, { "www-authenticate": challenge });
}
