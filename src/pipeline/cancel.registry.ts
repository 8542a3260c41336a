import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";

/**
 * Jobs running in this process, by id, so a cancel request published on Redis (by the API, on
 * any node) aborts the right one within moments. The channel is only a hint that makes a cancel
 * quick: the durable flag on the job, read on every lease renewal, is what makes it certain.
 */
export class CancelRegistry {
  /** Several runs of one job can share a worker (the chunk tasks of a chunked video): each is cancelled. */
  private readonly cancels = new Map<string, Set<() => void>>();

  register(jobId: string, cancel: () => void): () => void {
    const runs = this.cancels.get(jobId) ?? new Set();
    runs.add(cancel);
    this.cancels.set(jobId, runs);
    return () => {
      const current = this.cancels.get(jobId);
      if (!current) return;
      current.delete(cancel);
      if (current.size === 0) this.cancels.delete(jobId);
    };
  }

  cancel(jobId: string): boolean {
    const runs = this.cancels.get(jobId);
    for (const cancel of runs ?? []) cancel();
    return runs !== undefined;
  }

  /** Ids of the jobs running here now (the worker registry shows them as each worker's current jobs). */
  runningJobIds(): string[] {
    return [...this.cancels.keys()];
  }

  /**
   * Subscribes a dedicated connection (a subscribed connection can run nothing else). Not
   * awaited by the worker: a subscriber that cannot connect must not stop a worker from
   * starting, since cancels still arrive through the lease renewal; ioredis resubscribes on
   * every reconnect.
   */
  listen(subscriber: Redis, channel: string, logger: Logger): void {
    subscriber.on("message", (_channel: string, jobId: string) => {
      if (this.cancel(jobId)) logger.info({ jobId }, "cancel requested; aborting job");
    });
    subscriber
      .subscribe(channel)
      .catch((error: unknown) =>
        logger.warn(
          { err: error },
          "cancel channel: subscribe failed; cancels arrive on lease renewal until it reconnects",
        ),
      );
  }
}
