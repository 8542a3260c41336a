/**
 * The e2e scripts' client: makes sample media, uploads it with a plain S3 client, and checks
 * through the job API what the deployed workers did with it. It only talks to the endpoints it
 * is given, which the scripts point at 127.0.0.1 or at the containers and pods they created.
 * Check commands print one `ok …` / `FAIL …` line per check (the scripts count them) and exit 1
 * when any failed.
 *
 *   node scripts/engines/e2e-client.ts samples DIR [--long-clip SECONDS] [--docx]
 *   node scripts/engines/e2e-client.ts upload --s3 URL --bucket B --prefix P FILE…      (prints keys)
 *   node scripts/engines/e2e-client.ts burst --s3 URL --bucket B --prefix P --count N FILE
 *        (uploads N copies of FILE under distinct keys, so each is its own job; prints keys)
 *   node scripts/engines/e2e-client.ts verify --api URL --s3 URL --bucket B --keys FILE [--token T]
 *        [--timeout SEC] [--min-workers N] [--previews] [--single-attempt] [--output-segment S]
 *        [--lane KINDS:PREFIXES]…   (every job of those kinds ran on a worker whose id starts with one of
 *                                    the prefixes: `video:mp-worker-video-`, `image,audio:abc123-,def456-`)
 *   node scripts/engines/e2e-client.ts wait-processing --api URL --key KEY [--token T] [--timeout SEC]
 *        (prints the worker id once the job is processing)
 *
 * Outputs are found as a consumer finds them: through the source's stable manifest
 * (`<dir>/<segment>/<file>_manifest.json`, src/storage/output-keys.ts), which names the current
 * run and every output of it; no output key is guessed.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { z } from "zod";
import { generateSamples } from "../../src/dev/samples.ts";
import { manifestKey, outputLayout } from "../../src/storage/output-keys.ts";
import { minimalDocx } from "./office-sample.ts";

const REGION = "us-east-1";
/** The emulator accepts any credentials; the SDK only needs some to sign. */
const CREDENTIALS = { accessKeyId: "emulator", secretAccessKey: "emulator" };

const jobSchema = z.object({
  id: z.string(),
  type: z.string(),
  status: z.string(),
  source: z.object({ bucket: z.string(), key: z.string() }),
  attempts: z.number(),
  progress: z.number().optional(),
  workerId: z.string().optional(),
  timeline: z.array(z.object({ at: z.string(), event: z.string(), detail: z.record(z.string(), z.unknown()).optional() })).optional(),
  result: z.object({ outputs: z.array(z.object({ key: z.string() })), manifestKey: z.string(), run: z.string() }).partial().optional(),
  error: z.object({ category: z.string(), code: z.string(), message: z.string() }).partial().optional(),
});
type Job = z.infer<typeof jobSchema>;
const listSchema = z.object({ jobs: z.array(jobSchema.omit({ timeline: true, result: true })), nextCursor: z.string().nullable() });
const outputsSchema = z.object({ outputs: z.array(z.object({ key: z.string(), url: z.string(), preview: z.string() })) });
/** What a consumer reads of a manifest: the run it names and that run's outputs. */
const manifestSchema = z.looseObject({ jobId: z.string(), run: z.looseObject({ token: z.string() }), outputs: z.array(z.looseObject({ key: z.string() })) });

let failures = 0;
function report(passed: boolean, description: string): void {
  if (!passed) failures += 1;
  console.log(`${passed ? "ok  " : "FAIL"} ${description}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case "samples":
      return samples(rest);
    case "upload":
      return upload(rest);
    case "verify":
      return verify(rest);
    case "wait-processing":
      return waitProcessing(rest);
    case "burst":
      return burst(rest);
    default:
      throw new Error(`unknown command ${command ?? "(none)"}`);
  }
}

/** The demo's mixed set (photo, PNG, GIF, PDF, HEIC, clip, tone) plus, on request, a Word document and a longer 1080p clip. */
async function samples(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { "long-clip": { type: "string" }, docx: { type: "boolean", default: false } } });
  const folder = positionals[0];
  if (!folder) throw new Error("samples DIR");
  for (const sample of await generateSamples(folder)) console.log(sample.file);
  if (values.docx) {
    const letter = path.join(folder, "letter.docx");
    await writeFile(letter, minimalDocx(["media-processor e2e", "A Word document converted by LibreOffice in the image, then rendered by pdf.js."]));
    console.log(letter);
  }
  if (values["long-clip"]) {
    const seconds = Number(values["long-clip"]);
    const clip = path.join(folder, "long-clip.mp4");
    await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-f", "lavfi", "-i", `testsrc2=size=1920x1080:rate=30:duration=${seconds}`, "-f", "lavfi", "-i", `sine=frequency=330:duration=${seconds}`, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", clip]);
    console.log(clip);
  }
}

function s3Client(endpoint: string): S3Client {
  return new S3Client({ region: REGION, endpoint, forcePathStyle: true, credentials: CREDENTIALS });
}

async function upload(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { s3: { type: "string" }, bucket: { type: "string" }, prefix: { type: "string" } } });
  const s3 = s3Client(required(values.s3, "--s3"));
  const prefix = required(values.prefix, "--prefix");
  for (const file of positionals) console.log(await put(s3, required(values.bucket, "--bucket"), `${prefix}${path.basename(file)}`, await readFile(file)));
  s3.destroy();
}

/** A queue backlog the way users make one: N uploads at once (the same bytes under N keys, each its own job). */
async function burst(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { s3: { type: "string" }, bucket: { type: "string" }, prefix: { type: "string" }, count: { type: "string" } } });
  const file = positionals[0];
  if (!file) throw new Error("burst FILE");
  const count = Number(required(values.count, "--count"));
  if (!Number.isInteger(count) || count < 1 || count > 500) throw new Error("--count must be 1–500");
  const s3 = s3Client(required(values.s3, "--s3"));
  const body = await readFile(file);
  const prefix = required(values.prefix, "--prefix");
  for (let index = 0; index < count; index++) {
    console.log(await put(s3, required(values.bucket, "--bucket"), `${prefix}${String(index).padStart(3, "0")}-${path.basename(file)}`, body));
  }
  s3.destroy();
}

async function put(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<string> {
  // Multipart above one part, as S3 clients do: the emulator refuses single PUTs over 11 MiB.
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body }, partSize: 8 * 1024 * 1024 }).done();
  return key;
}

class JobApi {
  private readonly base: string;
  private readonly token: string | undefined;

  constructor(base: string, token: string | undefined) {
    this.base = base;
    this.token = token;
  }

  async get(pathname: string): Promise<unknown> {
    const response = await fetch(new URL(pathname, this.base), {
      headers: this.token ? { authorization: `Bearer ${this.token}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`GET ${pathname}: HTTP ${response.status}`);
    return response.json();
  }

  /** Every job the API lists (all pages), each with its timeline and result. */
  async jobs(): Promise<Job[]> {
    const summaries: z.infer<typeof listSchema>["jobs"] = [];
    let cursor: string | null = null;
    do {
      const page = listSchema.parse(await this.get(`/api/media/jobs?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`));
      summaries.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor);
    return Promise.all(summaries.map(async (summary) => jobSchema.parse(await this.get(`/api/media/jobs/${summary.id}`))));
  }
}

async function verify(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      api: { type: "string" },
      token: { type: "string" },
      s3: { type: "string" },
      bucket: { type: "string" },
      keys: { type: "string" },
      timeout: { type: "string", default: "300" },
      "min-workers": { type: "string", default: "1" },
      previews: { type: "boolean", default: false },
      // No job was started twice: nothing was interrupted and redone (scale-in, rollout).
      "single-attempt": { type: "boolean", default: false },
      "output-segment": { type: "string", default: "processed" },
      // Lanes: which workers may run which kinds of job (see checkLanes).
      lane: { type: "string", multiple: true, default: [] },
    },
  });
  const api = new JobApi(required(values.api, "--api"), values.token);
  const keys = (await readFile(required(values.keys, "--keys"), "utf8")).split("\n").filter(Boolean);
  const jobs = await waitForJobs(api, keys, Date.now() + Number(values.timeout) * 1000);
  const byKey = new Map<string, Job[]>();
  for (const job of jobs) byKey.set(job.source.key, [...(byKey.get(job.source.key) ?? []), job]);

  const missing = keys.filter((key) => (byKey.get(key) ?? []).length !== 1);
  report(missing.length === 0, `every upload has exactly one job (${keys.length - missing.length}/${keys.length})${missing.length ? `: ${missing.slice(0, 5).join(", ")}` : ""}`);
  const notCompleted = jobs.filter((job) => job.status !== "completed");
  report(
    jobs.length > 0 && notCompleted.length === 0,
    `every job completed (${jobs.length - notCompleted.length}/${jobs.length}; types ${[...new Set(jobs.map((job) => job.type))].sort().join(", ")})${notCompleted.map((job) => `; ${job.source.key}: ${job.status} ${job.error?.code ?? ""} ${job.error?.message ?? ""}`).join("")}`,
  );
  const completedTwice = jobs.filter((job) => (job.timeline ?? []).filter((entry) => entry.event === "completed").length !== 1);
  report(jobs.length > 0 && completedTwice.length === 0, `each job completed exactly once (one completed transition per job)${completedTwice.map((job) => `; ${job.source.key}`).join("")}`);
  if (values["single-attempt"]) {
    const redone = jobs.filter((job) => job.attempts !== 1 || (job.timeline ?? []).some((entry) => entry.event === "lease-expired" || entry.event === "released"));
    report(jobs.length > 0 && redone.length === 0, `no job was interrupted and redone (every job ran once, attempts 1)${redone.map((job) => `; ${job.id}: attempts ${job.attempts}`).join("")}`);
  }

  const s3 = s3Client(required(values.s3, "--s3"));
  const problems = await checkManifests(s3, required(values.bucket, "--bucket"), values["output-segment"], jobs);
  report(jobs.length > 0 && problems.missing.length === 0, `each upload's manifest is at its stable key and names its job's run (${problems.manifests}/${jobs.length})${problems.missing.slice(0, 3).map((problem) => `; ${problem}`).join("")}`);
  report(problems.outputs > 0 && problems.absent.length === 0, `every output the manifests name exists in S3 (${problems.outputs - problems.absent.length}/${problems.outputs} objects)${problems.absent.slice(0, 3).map((key) => `; missing ${key}`).join("")}`);
  s3.destroy();

  const workers = new Set(jobs.map((job) => job.workerId).filter((id): id is string => Boolean(id)));
  const minWorkers = Number(values["min-workers"]);
  report(workers.size >= minWorkers, `jobs ran on ${workers.size} worker(s), at least ${minWorkers} expected (${[...workers].join(", ")})`);
  for (const lane of values.lane) checkLane(lane, jobs);
  if (values.previews) await checkPreview(api, jobs);
  process.exitCode = failures > 0 ? 1 : 0;
}

/**
 * `KINDS:PREFIXES` — every job of one of the kinds ran on a worker whose id (`<hostname>-<pid>`:
 * a pod's name, a container's short id) starts with one of the prefixes: the lane's workers took
 * it, not another lane's. At least one job of the kinds must be among those checked.
 */
function checkLane(spec: string, jobs: readonly Job[]): void {
  const [kindList = "", prefixList = ""] = spec.split(":");
  const kinds = kindList.split(",").filter(Boolean);
  const prefixes = prefixList.split(",").filter(Boolean);
  const laneJobs = jobs.filter((job) => kinds.includes(job.type));
  const strays = laneJobs.filter((job) => !prefixes.some((prefix) => job.workerId?.startsWith(prefix)));
  report(
    laneJobs.length > 0 && prefixes.length > 0 && strays.length === 0,
    `${kinds.join(", ")} jobs ran on their lane's workers (${laneJobs.length - strays.length}/${laneJobs.length} on ${prefixes.join(", ") || "no worker given"})${strays.map((job) => `; ${job.source.key} on ${job.workerId ?? "?"}`).join("")}`,
  );
}

/** Bounded: one listing per second until every upload has a terminal job or the time is up. */
async function waitForJobs(api: JobApi, keys: readonly string[], deadline: number): Promise<Job[]> {
  const terminal = (job: Job) => ["completed", "failed", "cancelled"].includes(job.status);
  let jobs: Job[] = [];
  while (Date.now() < deadline) {
    jobs = (await api.jobs().catch(() => [])).filter((job) => keys.includes(job.source.key));
    if (keys.every((key) => jobs.some((job) => job.source.key === key)) && jobs.every(terminal)) break;
    await sleep(1000);
  }
  return jobs;
}

/**
 * Reads each job's manifest where a consumer looks for it (the stable key the layout derives from
 * the source key alone), checks it names the job's own run, and heads every output it lists.
 */
async function checkManifests(s3: S3Client, bucket: string, outputSegment: string, jobs: readonly Job[]): Promise<{ manifests: number; missing: string[]; outputs: number; absent: string[] }> {
  const missing: string[] = [];
  const absent: string[] = [];
  let manifests = 0;
  let outputs = 0;
  for (const job of jobs) {
    const key = manifestKey(outputLayout(job.source.key, outputSegment, job.result?.run ?? "00000000"));
    const manifest = await s3
      .send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      .then(async (response) => manifestSchema.safeParse(JSON.parse(await response.Body!.transformToString("utf8"))))
      .catch((error: unknown) => ({ success: false as const, error }));
    if (!manifest.success) {
      missing.push(`${key}: ${manifest.error instanceof Error ? manifest.error.name : "unreadable"}`);
      continue;
    }
    if (manifest.data.jobId !== job.id || manifest.data.run.token !== job.result?.run || job.result?.manifestKey !== key) {
      missing.push(`${key} names job ${manifest.data.jobId} run ${manifest.data.run.token}, job ${job.id} ran ${job.result?.run ?? "?"}`);
      continue;
    }
    manifests += 1;
    for (const output of manifest.data.outputs) {
      outputs += 1;
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: output.key })).catch(() => absent.push(output.key));
    }
    if (manifest.data.outputs.length === 0) missing.push(`${key} names no outputs`);
  }
  return { manifests, missing, outputs, absent };
}

/** The dashboard's preview of an image job: its presigned URL must load from where the checks run (the host). */
async function checkPreview(api: JobApi, jobs: readonly Job[]): Promise<void> {
  const previewJob = jobs.find((job) => job.type === "image" && job.status === "completed");
  let reachable = false;
  let detail = "no completed image job";
  if (previewJob) {
    const links = outputsSchema.parse(await api.get(`/api/media/jobs/${previewJob.id}/outputs`));
    const link = links.outputs.find((output) => output.preview === "image");
    if (link) {
      detail = new URL(link.url).host;
      const response = await fetch(link.url, { signal: AbortSignal.timeout(10_000) }).catch((error: unknown) => ({ ok: false, status: String(error) }));
      reachable = response.ok;
      if (!response.ok) detail += ` → ${response.status}`;
    }
  }
  report(reachable, `the dashboard's preview URLs load from the host (${detail})`);
}

/** Waits until the upload's job is processing with some progress (so it is mid-way) and prints its worker. */
async function waitProcessing(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { api: { type: "string" }, token: { type: "string" }, key: { type: "string" }, timeout: { type: "string", default: "180" } } });
  const api = new JobApi(required(values.api, "--api"), values.token);
  const key = required(values.key, "--key");
  const deadline = Date.now() + Number(values.timeout) * 1000;
  while (Date.now() < deadline) {
    const job = (await api.jobs().catch(() => [])).find((candidate) => candidate.source.key === key);
    if (job?.status === "processing" && job.workerId && (job.progress ?? 0) > 0) {
      console.log(job.workerId);
      return;
    }
    if (job && job.status !== "processing" && job.status !== "queued") throw new Error(`job of ${key} is ${job.status} before it could be interrupted`);
    await sleep(500);
  }
  throw new Error(`job of ${key} not processing within ${values.timeout} s`);
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function run(binary: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${binary} exited ${code}: ${stderr}`))));
  });
}

await main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
