import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { startFauxqs, type FauxqsServer } from "fauxqs";
import type { Logger } from "../logger.ts";
import { S3NotificationBridge } from "./s3-notification.bridge.ts";

/**
 * The S3+SQS emulator used by docker-compose (`media-processor emulator`) and by tests:
 * fauxqs on one port, with the bucket(s), the media queue and its dead-letter queue created
 * at start, and {@link S3NotificationBridge} standing in for the bucket's ObjectCreated
 * notification to the media queue (fauxqs does not emit S3 event notifications).
 */

export interface EmulatorOptions {
  /** Port to listen on (all interfaces, as a container needs); 0 picks a free port. */
  port: number;
  /**
   * Host name written into queue URLs, e.g. the compose service name, giving
   * `http://sqs.<region>.<host>:<port>/000000000000/<queue>`. Unset: `http://127.0.0.1:<port>/…`.
   * Clients configured with an explicit endpoint send to that endpoint whatever the URL's host.
   */
  queueUrlHost: string | undefined;
  region: string;
  /** Buckets created and watched; the first is the upload bucket of the demo. */
  buckets: string[];
  queueName: string;
  dlqName: string;
  /**
   * More queues made like the media queue (its visibility timeout, redrive to the same DLQ), for
   * the lanes after the entry lane (MEDIA_LANE_QUEUE_URLS). The bridge feeds only the media queue:
   * on AWS too the bucket notifies the entry lane alone.
   */
  extraQueueNames: string[];
  /**
   * Job-event topic (MEDIA_PROCESSING_TOPIC_ARN) created with a queue of the same name subscribed
   * to it (raw delivery), so a local consumer can read the events; undefined creates none.
   */
  jobEventsTopic: string | undefined;
  /** The media queue's redrive `maxReceiveCount`: keep equal to MAX_PROCESSING_RETRIES. */
  maxReceiveCount: number;
  /** The media queue's default visibility timeout; the worker sets its own on each receive. */
  visibilityTimeoutSec: number;
  outputSegment: string;
  /** How often the bridge lists the buckets. */
  notificationPollMs: number;
  logger: Logger;
}

export interface RunningEmulator {
  /** Endpoint for AWS_ENDPOINT_URL on this machine, e.g. `http://127.0.0.1:4566`. */
  endpoint: string;
  port: number;
  queueUrl: string;
  dlqUrl: string;
  /** URL of each of {@link EmulatorOptions.extraQueueNames}, by name. */
  extraQueueUrls: Record<string, string>;
  /** ARN of the job-event topic, when one was asked for. */
  jobEventsTopicArn: string | undefined;
  bridge: S3NotificationBridge;
  fauxqs: FauxqsServer;
  /** Stops the bridge, then the server. Safe to call twice. */
  stop(): Promise<void>;
}

export const DEFAULT_EMULATOR_OPTIONS: Omit<EmulatorOptions, "logger"> = {
  port: 4566,
  queueUrlHost: undefined,
  region: "us-east-1",
  buckets: ["media-uploads"],
  queueName: "media-processing",
  dlqName: "media-processing-dlq",
  extraQueueNames: [],
  jobEventsTopic: undefined,
  maxReceiveCount: 3,
  visibilityTimeoutSec: 300,
  outputSegment: "processed",
  notificationPollMs: 1000,
};

/** The emulator accepts any credentials; these only satisfy the SDK's signer. */
const EMULATOR_CREDENTIALS = { accessKeyId: "emulator", secretAccessKey: "emulator" };

/** fauxqs's fixed account id, part of every ARN it issues. */
const EMULATOR_ACCOUNT_ID = "000000000000";

export async function startEmulator(options: Partial<EmulatorOptions> & { logger: Logger }): Promise<RunningEmulator> {
  const settings: EmulatorOptions = { ...DEFAULT_EMULATOR_OPTIONS, ...options };
  const fauxqs = await startFauxqs({
    port: settings.port,
    logger: false,
    defaultRegion: settings.region,
    ...(settings.queueUrlHost ? { host: settings.queueUrlHost } : {}),
  });
  const endpoint = `http://127.0.0.1:${fauxqs.port}`;
  const { dlqUrl, queueUrl, extraQueueUrls, jobEventsTopicArn } = createResources(fauxqs, settings);

  const clientConfig = { region: settings.region, endpoint, credentials: EMULATOR_CREDENTIALS };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const sqs = new SQSClient(clientConfig);
  const bridge = new S3NotificationBridge({
    s3,
    sqs,
    buckets: settings.buckets,
    queueUrl,
    outputSegment: settings.outputSegment,
    pollIntervalMs: settings.notificationPollMs,
    logger: settings.logger,
  });
  bridge.start();
  settings.logger.info(
    {
      endpoint,
      buckets: settings.buckets,
      queueUrl,
      dlqUrl,
      extraQueueUrls,
      maxReceiveCount: settings.maxReceiveCount,
      jobEventsTopicArn,
    },
    "emulator: S3+SQS ready; bucket notifications bridged to the media queue",
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await bridge.stop();
      s3.destroy();
      sqs.destroy();
      await fauxqs.stop();
    })();
    return stopping;
  };
  return { endpoint, port: fauxqs.port, queueUrl, dlqUrl, extraQueueUrls, jobEventsTopicArn, bridge, fauxqs, stop };
}

/** DLQ first: the media queue's redrive policy names the DLQ by ARN. */
function createResources(
  fauxqs: FauxqsServer,
  settings: EmulatorOptions,
): { queueUrl: string; dlqUrl: string; extraQueueUrls: Record<string, string>; jobEventsTopicArn: string | undefined } {
  for (const bucket of settings.buckets) fauxqs.createBucket(bucket);
  const dlq = fauxqs.createQueue(settings.dlqName, {
    region: settings.region,
    // The longest retention SQS allows, so failed uploads stay inspectable.
    attributes: { MessageRetentionPeriod: "1209600" },
  });
  const dlqArn = dlq.queueArn || `arn:aws:sqs:${settings.region}:${EMULATOR_ACCOUNT_ID}:${settings.dlqName}`;
  const mediaQueueAttributes = {
    VisibilityTimeout: String(settings.visibilityTimeoutSec),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
  };
  const media = fauxqs.createQueue(settings.queueName, { region: settings.region, attributes: mediaQueueAttributes });
  const extraQueueUrls: Record<string, string> = {};
  for (const name of settings.extraQueueNames) {
    extraQueueUrls[name] = fauxqs.createQueue(name, {
      region: settings.region,
      attributes: mediaQueueAttributes,
    }).queueUrl;
  }
  let jobEventsTopicArn: string | undefined;
  if (settings.jobEventsTopic) {
    const name = settings.jobEventsTopic;
    fauxqs.createQueue(name, { region: settings.region });
    jobEventsTopicArn = fauxqs.createTopic(name, { region: settings.region }).topicArn;
    fauxqs.subscribe({ topic: name, queue: name, region: settings.region, attributes: { RawMessageDelivery: "true" } });
  }
  return { queueUrl: media.queueUrl, dlqUrl: dlq.queueUrl, extraQueueUrls, jobEventsTopicArn };
}
