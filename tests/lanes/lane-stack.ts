import { GetQueueAttributesCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { setTimeout as sleep } from "node:timers/promises";
import sharp from "sharp";
import { throwIfAborted } from "../../src/errors.ts";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import type { Processor } from "../../src/processors/processor.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { waitForValue } from "../helpers/wait-for.ts";

/**
 * A test stack with two lanes, `quick` (image, document, audio; the entry lane on the stack's
 * media queue) and `video` (its own emulator queue with the same redrive policy to the DLQ), and
 * no worker: tests start the workers they need with {@link LaneStack.startLaneWorker}. Jobs run a
 * recording processor (real detection, no encoding) so the tests are about routing, not codecs.
 */
export interface LaneStack {
  stack: TestStack;
  videoQueueUrl: string;
  /** A backlog queue for the quick lane (FAIR_SHARE_BACKLOG_QUEUE_URLS), with the same redrive policy; used only by tests that name it. */
  quickBacklogQueueUrl: string;
  /** Jobs the recording processor ran, in order (job id and the kind it saw). */
  runs: Array<{ jobId: string; kind: string }>;
  startLaneWorker(env?: Record<string, string>): ReturnType<TestStack["startAnotherWorker"]>;
  depth(queueUrl: string): Promise<number>;
  waitForEmpty(queueUrl: string, what: string, timeoutMs?: number): Promise<void>;
  sendTo(queueUrl: string, body: string): Promise<void>;
  stop(): Promise<void>;
}

export const LANES = "quick=image,document,audio;video=video";

/** Bytes with an MP4 `ftyp isom` head: video to the sniffer (the recording processor never decodes them). */
export function fakeMp4(): Buffer {
  return Buffer.concat([
    Buffer.from([0, 0, 0, 0x18]),
    Buffer.from("ftypisom"),
    Buffer.from([0, 0, 2, 0]),
    Buffer.from("isomiso2"),
    Buffer.alloc(4096, 7),
  ]);
}

export async function smallJpeg(): Promise<Buffer> {
  return sharp({ create: { width: 32, height: 24, channels: 3, background: "#3366cc" } })
    .jpeg()
    .toBuffer();
}

/** Runs for the milliseconds a key names after `sleep-` (`…/sleep-3000-a.jpg`), honouring the signal. */
function recordingProcessor(runs: LaneStack["runs"]): Processor {
  return {
    name: "recorder",
    accepts: () => true,
    async process(ctx) {
      const match = /sleep-(\d+)/.exec(ctx.sourceKey);
      const until = Date.now() + Number(match?.[1] ?? 0);
      while (Date.now() < until) {
        throwIfAborted(ctx.signal);
        await sleep(25);
      }
      runs.push({ jobId: ctx.jobId, kind: ctx.media.kind });
      const output = await ctx.output({
        name: "seen.txt",
        variant: "seen",
        body: { buffer: ctx.media.kind },
        contentType: "text/plain",
      });
      return { outputs: [output], metadata: { kind: ctx.media.kind } };
    },
  };
}

export async function startLaneStack(options: { maxReceiveCount?: number } = {}): Promise<LaneStack> {
  const runs: LaneStack["runs"] = [];
  const stack = await startTestStack({
    noWorker: true,
    maxReceiveCount: options.maxReceiveCount ?? 3,
    processors: [recordingProcessor(runs)],
    // Magic numbers are the whole test: no ffprobe refinement of the fake MP4.
    workerOptions: { refineMedia: async (_path, media) => media },
  });
  const { Attributes: dlq = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: stack.config.queue.dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const laneQueue = (name: string) =>
    stack.local.emulator.fauxqs.createQueue(name, {
      region: "us-east-1",
      attributes: {
        VisibilityTimeout: "30",
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlq.QueueArn,
          maxReceiveCount: options.maxReceiveCount ?? 3,
        }),
      },
    });
  const video = laneQueue("media-lane-video");
  const quickBacklog = laneQueue("media-lane-quick-backlog");
  const depth = async (queueUrl: string) => {
    const { Attributes: a = {} } = await stack.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
    );
    return (
      Number(a.ApproximateNumberOfMessages ?? 0) +
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  };
  return {
    stack,
    videoQueueUrl: video.queueUrl,
    quickBacklogQueueUrl: quickBacklog.queueUrl,
    runs,
    startLaneWorker: (env = {}) =>
      stack.startAnotherWorker({ MEDIA_LANES: LANES, MEDIA_LANE_QUEUE_URLS: `video=${video.queueUrl}`, ...env }),
    depth,
    async waitForEmpty(queueUrl, what, timeoutMs = 20_000) {
      await waitForValue(
        () => depth(queueUrl),
        (count) => count === 0,
        (last) => `${what}; last depth ${last}`,
        timeoutMs,
        200,
      );
    },
    async sendTo(queueUrl, body) {
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
    stop: () => stack.stop(),
  };
}

/** The worker that received the job for its (last) run, from the timeline's `received` entries. */
export function workersOf(job: JobRecord): string[] {
  return job.timeline
    .filter((entry) => entry.event === "received")
    .map((entry) => String((entry.detail as { workerId?: unknown } | undefined)?.workerId));
}

export function eventsOf(job: JobRecord): string[] {
  return job.timeline.map((entry) => entry.event);
}
