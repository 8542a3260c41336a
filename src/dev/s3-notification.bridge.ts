import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { isOutputKey } from "../s3-events/key-rules.ts";
import { buildS3Notification, newSequencer } from "../s3-events/s3-event.parser.ts";
import type { Logger } from "../logger.ts";

/**
 * A local stand-in for S3 event notifications.
 *
 * The emulator (fauxqs) stores objects and queues messages but does not send the
 * `s3:ObjectCreated:*` notification a real bucket configured with a queue destination sends.
 * This bridge fills that gap for local use only: it lists each bucket every `pollIntervalMs`
 * through the real S3 API and, for every object that is new or whose ETag changed, sends
 * the notification body S3 would send to the media queue. On AWS the bucket's own
 * notification configuration does this; nothing here runs there.
 *
 * Differences from S3 that a developer may notice: events arrive up to one poll interval
 * late, and several uploads of the same key between two polls produce one event. A re-upload of
 * identical bytes (same ETag) is seen by its new LastModified and notified with a new
 * sequencer, as S3 would, so it is a new job.
 */

export interface NotificationBridgeOptions {
  s3: S3Client;
  sqs: SQSClient;
  buckets: string[];
  queueUrl: string;
  /** Keys inside this segment are our outputs; S3 would notify, the worker drops them, we skip them. */
  outputSegment: string;
  pollIntervalMs: number;
  logger: Logger;
}

/** SendMessageBatch takes at most ten entries. */
const SQS_BATCH_LIMIT = 10;

interface SeenObject {
  bucket: string;
  key: string;
  size: number | undefined;
  eTag: string | undefined;
  /** ETag plus LastModified: what tells two uploads of a key apart. */
  upload: string;
}

export class S3NotificationBridge {
  readonly #options: NotificationBridgeOptions;
  /** `bucket\0key` → ETag and LastModified of the upload already notified. */
  readonly #notified = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #currentScan: Promise<void> | undefined;
  #stopped = false;
  #notificationsSent = 0;

  constructor(options: NotificationBridgeOptions) {
    this.#options = options;
  }

  /** How many notifications have been queued since start (for logs and tests). */
  get notificationsSent(): number {
    return this.#notificationsSent;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops polling and waits for a scan in progress, so no send races the emulator's shutdown. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#currentScan;
  }

  /** One listing pass over every bucket; exported for tests that do not want to wait a tick. */
  async scanOnce(): Promise<number> {
    let sent = 0;
    for (const bucket of this.#options.buckets) {
      const changed = await this.#findChanged(bucket);
      sent += await this.#notify(changed);
    }
    return sent;
  }

  // A chained timeout, not setInterval: a slow listing must never overlap the next one.
  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#currentScan = this.scanOnce()
        .then(() => undefined)
        .catch((error: unknown) =>
          this.#options.logger.warn({ err: error }, "s3 notification bridge: scan failed; retrying"),
        )
        .finally(() => this.#schedule(this.#options.pollIntervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #findChanged(bucket: string): Promise<SeenObject[]> {
    const present = new Set<string>();
    const changed: SeenObject[] = [];
    for await (const page of paginateListObjectsV2({ client: this.#options.s3 }, { Bucket: bucket })) {
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || isOutputKey(object.Key, this.#options.outputSegment)) continue;
        const id = `${bucket}\0${object.Key}`;
        present.add(id);
        const upload = `${object.ETag ?? ""}|${object.LastModified?.toISOString() ?? ""}`;
        if (this.#notified.get(id) === upload) continue;
        changed.push({ bucket, key: object.Key, size: object.Size, eTag: object.ETag, upload });
      }
    }
    // Forget deleted objects, so uploading the same bytes again is notified again, as S3 would.
    for (const id of this.#notified.keys()) {
      if (id.startsWith(`${bucket}\0`) && !present.has(id)) this.#notified.delete(id);
    }
    return changed;
  }

  async #notify(objects: SeenObject[]): Promise<number> {
    let sent = 0;
    for (let start = 0; start < objects.length; start += SQS_BATCH_LIMIT) {
      const batch = objects.slice(start, start + SQS_BATCH_LIMIT);
      // S3 sends one record per message; so do we, ten messages per call.
      const result = await this.#options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.#options.queueUrl,
          Entries: batch.map((object, index) => ({
            Id: String(index),
            MessageBody: buildS3Notification([
              {
                bucket: object.bucket,
                key: object.key,
                size: object.size,
                eTag: object.eTag,
                sequencer: newSequencer(),
              },
            ]),
          })),
        }),
      );
      const failedIds = new Set((result.Failed ?? []).map((failure) => failure.Id));
      batch.forEach((object, index) => {
        // A failed entry stays unnotified and is retried on the next pass.
        if (failedIds.has(String(index))) return;
        this.#notified.set(`${object.bucket}\0${object.key}`, object.upload);
        sent += 1;
        this.#options.logger.debug(
          { bucket: object.bucket, key: object.key },
          "s3 notification bridge: ObjectCreated sent",
        );
      });
    }
    this.#notificationsSent += sent;
    return sent;
  }
}
