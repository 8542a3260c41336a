import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Logger } from "../logger.ts";
import { getQueueDepth, type QueueDepth } from "../queue/queue.stats.ts";

/**
 * Queue depths as the API shows them (stats, GET /api/media/queues): polled in the background
 * every `intervalMs` (API_QUEUE_DEPTH_INTERVAL), so no request waits on SQS — a stats call is
 * Redis only, and a dashboard open on every screen costs no SQS calls. SQS's own counts are
 * approximate and lag too; a snapshot a few seconds old is what an operator gets from SQS
 * anyway. A queue that could not be read in the last poll shows as undefined. With several
 * lanes (MEDIA_LANES) each lane's queue is polled too.
 */
export interface QueueDepthSnapshot {
  media: QueueDepth | undefined;
  dlq: QueueDepth | undefined;
  intake: QueueDepth | undefined;
  /** Each lane's queue when MEDIA_LANES names more than one (the entry lane's is the media queue), and its backlog queue if it has one; [] otherwise. */
  lanes: Array<{ name: string; depth: QueueDepth | undefined; backlog?: QueueDepth | undefined }>;
  /** Epoch ms of the poll; 0 before the first one finished. */
  at: number;
}

export interface QueueDepthMonitor {
  latest(): QueueDepthSnapshot;
  /** The next snapshot (waits for the first poll; later calls answer at once). */
  ready(): Promise<void>;
  stop(): void;
}

export function startQueueDepthMonitor(
  sqs: SQSClient,
  urls: {
    media: string;
    dlq: string | undefined;
    intake: string | undefined;
    lanes?: ReadonlyArray<{ name: string; url: string; backlogUrl?: string | undefined }>;
  },
  intervalMs: number,
  logger: Logger,
): QueueDepthMonitor {
  let snapshot: QueueDepthSnapshot = { media: undefined, dlq: undefined, intake: undefined, lanes: [], at: 0 };
  const lanes = urls.lanes && urls.lanes.length > 1 ? urls.lanes : [];
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const depth = (name: string, url: string | undefined): Promise<QueueDepth | undefined> =>
    url
      ? getQueueDepth(sqs, url).catch((error: unknown) => {
          logger.warn({ err: error, queue: name }, "could not read queue depth");
          return undefined;
        })
      : Promise.resolve(undefined);
  const poll = async () => {
    // One round: the backlogs are read beside everything else, not after it.
    const backlogsRead = Promise.all(
      lanes.map((lane) => (lane.backlogUrl ? depth(`lane ${lane.name} backlog`, lane.backlogUrl) : undefined)),
    );
    const [media, dlq, intake, ...laneDepths] = await Promise.all([
      depth("media", urls.media),
      depth("dlq", urls.dlq),
      depth("intake", urls.intake),
      // The entry lane's queue is the media queue: read once.
      ...lanes.map((lane) =>
        lane.url === urls.media ? Promise.resolve(undefined) : depth(`lane ${lane.name}`, lane.url),
      ),
    ]);
    const backlogs = await backlogsRead;
    snapshot = {
      media,
      dlq,
      intake,
      lanes: lanes.map((lane, index) => ({
        name: lane.name,
        depth: lane.url === urls.media ? media : laneDepths[index],
        ...(lane.backlogUrl ? { backlog: backlogs[index] } : {}),
      })),
      at: Date.now(),
    };
  };
  const first = poll();
  // A chained timeout: a slow SQS never stacks polls.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void poll().finally(schedule), intervalMs);
    timer.unref();
  };
  void first.finally(schedule);
  return {
    latest: () => snapshot,
    ready: () => first,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
