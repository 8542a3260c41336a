import { isTerminal } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { buildJobEvent, jobEventId, type JobEvent } from "./job-event.ts";
import type { JobEventTopic } from "./job-event.topic.ts";

/**
 * What happened when a job's terminal state was to be published:
 * `published` now, `already` published before (a redelivery), `off` (no topic, no webhooks), `not-final`
 * (the job is not terminal, or expired), or `failed` — SNS or the webhook outbox did not take it, so
 * the caller keeps the job's message and the next delivery publishes it again.
 */
export type PublishOutcome = "published" | "already" | "off" | "not-final" | "failed";

/** SNS normally answers in milliseconds; a hung call must not hold the job's slot. */
const PUBLISH_TIMEOUT_MS = 10_000;

export interface JobEventPublisherDeps {
  store: JobStore;
  topic: JobEventTopic;
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
 * Publishes terminal job states as job events (to the topic and, when on, the webhook outbox), at
 * least once: the job record remembers which event published its current state (`announcedEventId`,
 * a field name kept for API users), so a redelivered message of a published job publishes nothing,
 * and one whose publish failed publishes it then.
 */
export class JobEventPublisher {
  private readonly deps: JobEventPublisherDeps;

  constructor(deps: JobEventPublisherDeps) {
    this.deps = deps;
  }

  get enabled(): boolean {
    return this.deps.topic.enabled || this.deps.webhooks !== undefined;
  }

  async publish(jobId: string, logger: Logger): Promise<PublishOutcome> {
    const { store, topic, metrics, outputBucket, webhooks } = this.deps;
    if (!topic.enabled && !webhooks) return "off";
    const job = await store.get(jobId).catch((error: unknown) => {
      logger.warn({ err: error }, "could not read the job to publish its event");
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
          logger.warn(
            { err: error, eventId },
            "job event not recorded for webhooks; the job's message is kept to try again",
          );
          return false;
        },
      );
      if (!recorded) return "failed";
      if (!topic.enabled) {
        await store
          .markPublished(jobId, eventId, job.status, Date.parse(job.finishedAt), {
            eventType: event.eventType,
            webhooks: true,
          })
          .catch((error: unknown) =>
            logger.warn({ err: error, eventId }, "job event recorded but not marked on the job"),
          );
        return "published";
      }
    }
    try {
      const { messageId } = await topic.send(event, AbortSignal.timeout(PUBLISH_TIMEOUT_MS));
      metrics?.jobEvents.inc({ status: job.status, outcome: "published" });
      logger.info({ eventId, eventType: event.eventType, snsMessageId: messageId }, "job event published");
      // A failed mark only means a redelivery would publish the same event id again.
      await store
        .markPublished(jobId, eventId, job.status, Date.parse(job.finishedAt), {
          eventType: event.eventType,
          ...(messageId ? { snsMessageId: messageId } : {}),
        })
        .catch((error: unknown) =>
          logger.warn({ err: error, eventId }, "job event published but not recorded on the job"),
        );
      return "published";
    } catch (error) {
      metrics?.jobEvents.inc({ status: job.status, outcome: "failed" });
      logger.warn(
        { err: error, eventId, eventType: event.eventType },
        "job event not published; the job's message is kept to try again",
      );
      return "failed";
    }
  }
}
