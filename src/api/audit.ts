import type { Actor } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { Principal } from "./auth.ts";

/**
 * The audit trail of the API: every change a token makes is one structured log line
 * (`audit: true`, the token id — never the token — its scope and tenant, the action and its
 * target) and, on the jobs it touches, a timeline entry naming the token id (`by`).
 */
export function audit(logger: Logger, principal: Principal, action: string, detail: Record<string, unknown>): void {
  logger.info(
    {
      audit: true,
      by: principal.id,
      scope: principal.scope,
      ...(principal.tenant ? { tenant: principal.tenant } : {}),
      action,
      ...detail,
    },
    `audit: ${action}`,
  );
}

/** What a job's timeline records about who changed it. */
export function actorOf(principal: Principal, via = "api"): Actor {
  return { by: principal.id, via };
}
