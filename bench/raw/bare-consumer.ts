/**
 * The bare side of the queue benchmark: a plain sqs-consumer receive → delete loop against the
 * same emulator, with the handler returning each message at once (so sqs-consumer deletes it, one
 * DeleteMessage per message, as the worker does). Consumes `expected` messages already waiting in
 * the queue and prints one JSON line: first receive → last delete.
 *
 * With `s3Work`, the handler also does the S3 I/O a no-op job of the pipeline does, the plain way:
 * parse the notification, download the object to a temp file, upload a small JSON result next to
 * it, remove the file. That separates what S3 costs from what the pipeline itself adds.
 *
 *   node bench/raw/bare-consumer.ts <request.json>
 */
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient, type Message } from "@aws-sdk/client-sqs";
import { Consumer } from "sqs-consumer";
import { cpuSecondsNow, peakRssMiB, type RawRunResult } from "./raw-common.ts";

export interface BareConsumerRequest {
  queueUrl: string;
  endpoint: string;
  region: string;
  batchSize: number;
  expected: number;
  s3Work: boolean;
}

const request = JSON.parse(await readFile(process.argv[2]!, "utf8")) as BareConsumerRequest;
const credentials = { accessKeyId: "local", secretAccessKey: "local" };
const sqs = new SQSClient({ region: request.region, endpoint: request.endpoint, credentials });
const s3 = new S3Client({ region: request.region, endpoint: request.endpoint, credentials, forcePathStyle: true });
const scratch = await mkdtemp(path.join(os.tmpdir(), "mp-bare-"));
let fileNumber = 0;

interface Notification {
  Records: Array<{ s3: { bucket: { name: string }; object: { key: string } } }>;
}

/** Download the object, write a small result beside it: the S3 I/O of a no-op pipeline job. */
async function s3Work(message: Message): Promise<void> {
  for (const record of (JSON.parse(message.Body ?? "{}") as Notification).Records) {
    const bucket = record.s3.bucket.name;
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, " "));
    const file = path.join(scratch, String(fileNumber++));
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(object.Body as NodeJS.ReadableStream, createWriteStream(file));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${key}.result.json`,
        Body: JSON.stringify({ key, done: true }),
        ContentType: "application/json",
      }),
    );
    await rm(file, { force: true });
  }
}
let firstReceivedAt: number | undefined;
let processed = 0;
const consumer = Consumer.create({
  queueUrl: request.queueUrl,
  sqs,
  batchSize: request.batchSize,
  waitTimeSeconds: 1,
  suppressFifoWarning: true,
  handleMessage: async (message) => {
    if (request.s3Work) await s3Work(message);
    return message;
  },
});
const done = new Promise<number>((resolve) => {
  consumer.on("message_received", () => {
    firstReceivedAt ??= performance.now();
  });
  consumer.on("message_processed", () => {
    processed += 1;
    if (processed === request.expected) resolve(performance.now());
  });
});
consumer.on("error", (error) => process.stderr.write(`bare consumer: ${error.message}\n`));
const cpuBefore = await cpuSecondsNow();
consumer.start();
const lastDeletedAt = await done;
const cpuSec = (await cpuSecondsNow()) - cpuBefore;
consumer.stop();
const result: RawRunResult = {
  wallMs: lastDeletedAt - firstReceivedAt!,
  items: processed,
  peakRssMiB: await peakRssMiB(),
  cpuSec,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
sqs.destroy();
s3.destroy();
await rm(scratch, { recursive: true, force: true });
process.exit(0);
