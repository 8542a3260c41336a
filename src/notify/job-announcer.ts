import { isTerminal } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { buildJobEvent, jobEventId, type JobEvent } from "./job-event.ts";
import type { JobEventPublisher } from "./job-event.publisher.ts";

/**
 * What happened when a job's terminal state was to be announced:
 * `published` now, `already` published before (a redelivery), `off` (no topic), `not-final`
 * (the job is not terminal, or expired), or `failed` — SNS did not take it, so the caller keeps
 * the job's message and the next delivery announces it again.
 */
export type AnnounceOutcome = "published" | "already" | "off" | "not-final" | "failed";

/** SNS normally answers in milliseconds; a hung call must not hold the job's slot. */
const PUBLISH_TIMEOUT_MS = 10_000;

export interface JobAnnouncerDeps {
  store: JobStore;
  publisher: JobEventPublisher;
  metrics?: Metrics;
  /** OUTPUT_BUCKET; undefined means outputs sit in the source bucket. */
  outputBucket: string | undefined;
  /**
   * WEBHOOKS_ENABLED: every terminal event is also recorded for webhook delivery (one Redis
   * write, idempotent on the event id; the API process delivers it on its own schedule).
   */
  webhooks?: { record(event: JobEvent): Promise<boolean> };
}

/**
 * Announces terminal job states on the job-event topic, at least once: the job record remembers
 * which event announced its current state (`announcedEventId`), so a redelivered message of an
 * announced job publishes nothing, and one whose publish failed publishes it then.
 */
export class JobAnnouncer {
  private readonly deps: JobAnnouncerDeps;

  constructor(deps: JobAnnouncerDeps) {
    this.deps = deps;
  }

  get enabled(): boolean {
    return this.deps.publisher.enabled || this.deps.webhooks !== undefined;
  }

  async announce(jobId: string, logger: Logger): Promise<AnnounceOutcome> {
    const { store, publisher, metrics, outputBucket, webhooks } = this.deps;
    if (!publisher.enabled && !webhooks) return "off";
    const job = await store.get(jobId).catch((error: unknown) => {
      logger.warn({ err: error }, "could not read the job to announce it");
      return null;
    });
    if (job === null) return "failed";
    if (!job || !isTerminal(job.status) || !job.finishedAt) return "not-final";
    const eventId = jobEventId(job);
    if (job.announcedEventId === eventId) return "already";
    const event = buildJobEvent(job, outputBucket ?? job.source.bucket);
    if (!event) return "not-final";
    if (webhooks) {
      // Recorded before SNS: a failure keeps the message, and the redelivery records it (once: SET NX).
      const recorded = await webhooks.record(event).then(
        () => true,
        (error: unknown) => {
          logger.warn({ err: error, eventId }, "job event not recorded for webhooks; the job's message is kept to try again");
          return false;
        },
      );
      if (!recorded) return "failed";
      if (!publisher.enabled) {
        await store.markAnnounced(jobId, eventId, job.status, Date.parse(job.finishedAt), { eventType: event.eventType, webhooks: true }).catch((error: unknown) => logger.warn({ err: error, eventId }, "job event recorded but not marked on the job"));
        return "published";
      }
    }
    try {
      const { messageId } = await publisher.publish(event, AbortSignal.timeout(PUBLISH_TIMEOUT_MS));
      metrics?.jobEvents.inc({ status: job.status, outcome: "published" });
      logger.info({ eventId, eventType: event.eventType, snsMessageId: messageId }, "job event published");
      // A failed mark only means a redelivery would publish the same event id again.
      await store
        .markAnnounced(jobId, eventId, job.status, Date.parse(job.finishedAt), { eventType: event.eventType, ...(messageId ? { snsMessageId: messageId } : {}) })
        .catch((error: unknown) => logger.warn({ err: error, eventId }, "job event published but not recorded on the job"));
      return "published";
    } catch (error) {
      metrics?.jobEvents.inc({ status: job.status, outcome: "failed" });
      logger.warn({ err: error, eventId, eventType: event.eventType }, "job event not published; the job's message is kept to try again");
      return "failed";
    }
  }
}
