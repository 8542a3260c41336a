import type { Logger } from "../logger.ts";
import { postOnce, type AttemptResult } from "./webhook-delivery.ts";
import type { WebhookOutbox } from "./webhook-outbox.ts";
import { signatureHeader, SIGNATURE_HEADER } from "./webhook-signature.ts";
import type { TargetPolicy } from "./webhook-target.ts";

/**
 * Delivers recorded job events to the configured endpoints, in the API process, on a loop of its
 * own: fan each recorded event out to the endpoints it concerns, claim the deliveries that are
 * due (a lease, so several API replicas share the work), POST each signed, and record the
 * outcome: delivered, or the next attempt after an exponential backoff (WEBHOOK_RETRY_BASE
 * doubling, capped at an hour, with jitter) until WEBHOOK_RETRY_WINDOW (≥ 24 h) has passed
 * since the event, then failed — replayable from the API. Nothing here touches a job.
 */
export interface WebhookEndpoint {
  id: string;
  url: string;
  /** Active secrets, newest first; every one signs (two during a rotation). */
  secrets: string[];
  /** Only this tenant's jobs. */
  tenant?: string | undefined;
  /** Only these event types (media.job.completed, …); all when undefined. */
  events?: string[] | undefined;
}

export interface DispatcherOptions {
  outbox: WebhookOutbox;
  endpoints: readonly WebhookEndpoint[];
  policy: TargetPolicy;
  retryBaseMs: number;
  retryWindowMs: number;
  timeoutMs: number;
  /** Loop period while idle. */
  pollMs: number;
  concurrency?: number;
  logger: Logger;
  /** Epoch ms; tests move it. */
  clock?: () => number;
  /** Jitter in [0, 1); tests fix it. */
  random?: () => number;
}

const MAX_BACKOFF_MS = 3_600_000;

/** The delay before attempt `failures + 1`: base·2^(failures−1), at most an hour, ±20 % jitter. */
export function backoffMs(failures: number, baseMs: number, random: () => number = Math.random): number {
  const raw = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export class WebhookDispatcher {
  private readonly options: DispatcherOptions;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(options: DispatcherOptions) {
    this.options = options;
    this.now = options.clock ?? Date.now;
  }

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, "webhook dispatch failed; trying again"));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.options.pollMs);
    };
    void loop();
  }

  /** Stops the loop and waits for the round in flight; safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round: fan out, then deliver what is due. Returns how many attempts it made. */
  async tick(): Promise<number> {
    await this.fanOut();
    const { outbox, timeoutMs } = this.options;
    const ids = await outbox.claimDue(this.now(), timeoutMs * 2 + 5_000, 50);
    const queue = [...ids];
    const workers = Array.from({ length: Math.min(this.options.concurrency ?? 4, queue.length) }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.attempt(id);
    });
    await Promise.all(workers);
    return ids.length;
  }

  private async fanOut(): Promise<void> {
    const { outbox, endpoints } = this.options;
    for (const eventId of await outbox.inbox(100)) {
      const text = await outbox.event(eventId);
      const event = text ? (JSON.parse(text) as { eventType: string; job: { tenantId?: string } }) : undefined;
      const targets = event
        ? endpoints
            .filter(
              (endpoint) =>
                (endpoint.tenant === undefined || endpoint.tenant === event.job.tenantId) &&
                (endpoint.events === undefined || endpoint.events.includes(event.eventType)),
            )
            .map((endpoint) => ({ id: endpoint.id, eventType: event.eventType, tenantId: event.job.tenantId }))
        : [];
      await outbox.fanOut(eventId, targets, this.now());
    }
  }

  private async attempt(id: string): Promise<void> {
    const { outbox, logger } = this.options;
    const delivery = await outbox.get(id);
    if (delivery?.state !== "pending") return;
    const endpoint = this.options.endpoints.find((candidate) => candidate.id === delivery.endpoint);
    const body = await outbox.event(delivery.eventId);
    let result: AttemptResult;
    if (!endpoint) result = { ok: false, error: `endpoint ${delivery.endpoint} is no longer configured` };
    else if (!body) result = { ok: false, error: "the event expired" };
    else {
      const headers = {
        [SIGNATURE_HEADER]: signatureHeader(endpoint.secrets, body, Math.floor(this.now() / 1000)),
        "media-event-id": delivery.eventId,
        "media-event-type": delivery.eventType,
        "media-delivery-id": delivery.id,
        "media-delivery-attempt": String(delivery.attempts + 1),
      };
      result = await postOnce(endpoint.url, body, headers, this.options.policy, this.options.timeoutMs);
    }
    const now = this.now();
    const final = !endpoint || !body || now - Date.parse(delivery.createdAt) >= this.options.retryWindowMs;
    const outcome = result.ok ? "delivered" : final ? "failed" : "retry";
    const nextAt =
      outcome === "retry"
        ? now + backoffMs(delivery.attempts + 1, this.options.retryBaseMs, this.options.random)
        : undefined;
    await outbox.result(id, now, outcome, result.status, result.error, nextAt);
    const fields = {
      deliveryId: id,
      eventId: delivery.eventId,
      endpoint: delivery.endpoint,
      attempt: delivery.attempts + 1,
      status: result.status,
      outcome,
    };
    if (result.ok) logger.info(fields, "webhook delivered");
    else
      logger.warn(
        { ...fields, error: result.error },
        outcome === "failed" ? "webhook delivery failed for good (replayable)" : "webhook delivery failed; will retry",
      );
  }
}
