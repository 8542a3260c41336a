import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";

/**
 * Jobs running in this process, by id, so a cancel request published on Redis (by the API, on
 * any node) aborts the right one within moments.
 */
export class CancelRegistry {
  private readonly cancels = new Map<string, () => void>();

  register(jobId: string, cancel: () => void): () => void {
    this.cancels.set(jobId, cancel);
    return () => {
      if (this.cancels.get(jobId) === cancel) this.cancels.delete(jobId);
    };
  }

  cancel(jobId: string): boolean {
    const cancel = this.cancels.get(jobId);
    cancel?.();
    return cancel !== undefined;
  }

  /** Subscribes a dedicated connection (a subscribed connection can run nothing else). */
  async listen(subscriber: Redis, channel: string, logger: Logger): Promise<void> {
    subscriber.on("message", (_channel: string, jobId: string) => {
      if (this.cancel(jobId)) logger.info({ jobId }, "cancel requested; aborting job");
    });
    await subscriber.subscribe(channel);
  }
}
