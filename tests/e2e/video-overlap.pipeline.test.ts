import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import type { JobRecord } from "../../src/jobs/job.model.ts";
import { parseMediaPlaylist } from "../../src/processors/video/master-playlist.ts";
import { outputLayout, runPrefixes, runToken } from "../../src/storage/output-keys.ts";
import { startFaultProxy, type FaultProxy } from "../helpers/fault-proxy.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { manifestKeyOf, runPrefixesOf } from "../helpers/outputs.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { verifyHlsTree } from "../helpers/verify-hls.ts";
import { spawnWorker } from "../helpers/worker-process.ts";

/**
 * HLS segments go up while ffmpeg still encodes (issue 20), through the real consumer, Redis and
 * the S3/SQS emulator: the stored tree is exactly the tree ffmpeg wrote and plays; a cancel that
 * lands after segments are in S3 leaves no playlist naming a missing segment; a segment upload
 * that fails mid-encode fails the run as transient, the run's stored segments are removed, and
 * the retry's manifest names only its own complete tree; a worker killed mid-encode leaves
 * segments but no playlist, and the retry's manifest names only its own complete tree.
 */

const SEGMENT_SECONDS = 1;

/** Every `.m3u8` under `prefix` names only objects that exist (media playlists: their segments and init file; the master: its playlists). */
async function assertPlaylistsComplete(stack: TestStack, prefix: string): Promise<number> {
  const keys = new Set(await stack.listKeys(prefix));
  const playlists = [...keys].filter((key) => key.endsWith(".m3u8"));
  for (const key of playlists) {
    const text = (await stack.getObject(key)).toString("utf8");
    const folder = key.slice(0, key.lastIndexOf("/") + 1);
    const named = [
      ...text.split("\n").filter((line) => line !== "" && !line.startsWith("#")),
      ...[...text.matchAll(/URI="([^"]+)"/g)].map((match) => match[1]!),
    ];
    for (const uri of new Set(named.map((name) => name.split("#")[0]!)))
      assert.ok(keys.has(`${folder}${uri}`), `${key} names ${uri}, which is not in S3`);
  }
  return playlists.length;
}

/** The tree's keys a player can reach from the master: playlists, I-frame playlists, init files, segments. */
async function reachableKeys(stack: TestStack, treePrefix: string): Promise<Set<string>> {
  const reachable = new Set([`${treePrefix}hls/master.m3u8`]);
  const master = (await stack.getObject(`${treePrefix}hls/master.m3u8`)).toString("utf8");
  const playlistUris = [
    ...master.split("\n").filter((line) => line !== "" && !line.startsWith("#")),
    ...[...master.matchAll(/URI="([^"]+)"/g)].map((match) => match[1]!),
  ];
  for (const uri of playlistUris) {
    const key = `${treePrefix}hls/${uri}`;
    reachable.add(key);
    const folder = key.slice(0, key.lastIndexOf("/") + 1);
    const playlist = parseMediaPlaylist((await stack.getObject(key)).toString("utf8"));
    if (playlist.initUri) reachable.add(`${folder}${playlist.initUri}`);
    for (const segment of playlist.segments) reachable.add(`${folder}${segment.uri}`);
  }
  return reachable;
}

const event = (job: JobRecord, name: string) => job.timeline.find((entry) => entry.event === name);

describe("overlapped HLS upload through the real pipeline", () => {
  let stack: TestStack;
  let dir: string;
  let clip: Buffer;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-overlap-"));
    // The production preset (veryfast); 1080p for 10 s at 10 fps keeps ffmpeg busy for several segments.
    stack = await startTestStack({ env: { VIDEO_HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS) } });
    clip = await readFile(
      await generateClip({ width: 1920, height: 1080, durationSec: 10, fps: 10, out: path.join(dir, "overlap.mp4") }),
    );
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("segments go up while ffmpeg encodes; S3 holds exactly the tree ffmpeg wrote, and it plays", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-overlap.mp4";
    const jobId = await stack.uploadAndNotify(key, clip);
    const job = await stack.waitForJob(jobId, undefined, 180_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.deepEqual(
      job.timeline
        .map((entry) => entry.event)
        .filter((name) => ["probed", "planned", "encoded", "poster", "uploaded"].includes(name)),
      ["probed", "planned", "encoded", "poster", "uploaded"],
    );

    // The overlap, on the timeline: the upload step's range starts inside the encode's.
    const encoded = event(job, "encoded")!.detail as { startedAt: string; endedAt: string };
    const uploaded = event(job, "uploaded")!.detail as {
      startedAt: string;
      duringEncode: number;
      files: number;
      segments: number;
    };
    const poster = event(job, "poster")!.detail as {
      startedAt: string;
      endedAt: string;
      atSec: number;
      source: string;
    };
    assert.ok(
      Date.parse(uploaded.startedAt) < Date.parse(encoded.endedAt),
      `upload started ${uploaded.startedAt}, encode ended ${encoded.endedAt}`,
    );
    assert.ok(
      uploaded.duringEncode > 0 && uploaded.duringEncode < uploaded.files,
      `${uploaded.duringEncode} of ${uploaded.files} files stored during the encode`,
    );
    // The poster's frame comes from the ladder run's own decode (issue 20): the frame at
    // VIDEO_POSTER_POSITION_PERCENT (10 % of 10 s). When ffmpeg hands the frame over before it exits
    // depends on its muxing, not on us, so only the frame is asserted, not the moment.
    assert.equal(poster.atSec, 1, JSON.stringify(poster));
    assert.equal(poster.source, "bright-frame");

    // Same set of keys as a sequential upload of the folder: every file a player can reach, nothing else (no .tmp, no half segment).
    const [, tree] = runPrefixesOf(job);
    const stored = await stack.listKeys(`${tree}hls/`);
    assert.deepEqual(stored, [...(await reachableKeys(stack, tree))].sort());
    assert.ok(!stored.some((stored) => stored.endsWith(".tmp")));
    assert.equal(uploaded.segments, stored.filter((stored) => stored.endsWith(".ts")).length);
    await assertPlaylistsComplete(stack, tree);
    const local = path.join(dir, "downloaded");
    for (const hlsKey of stored) {
      const target = path.join(local, hlsKey.slice(tree.length));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await stack.getObject(hlsKey));
    }
    const rungs = await verifyHlsTree(path.join(local, "hls", "master.m3u8"), {
      sourceDurationSec: 10,
      segmentSeconds: SEGMENT_SECONDS,
    });
    assert.deepEqual(
      rungs.map((rung) => `${rung.width}x${rung.height}`),
      ["854x480", "1280x720", "1920x1080"],
    );
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
      outputs: Array<{ key: string; variant: string }>;
    };
    assert.deepEqual(
      manifest.outputs.map((output) => output.variant),
      [
        "hls_playlist",
        "hls_playlist",
        "hls_playlist",
        "hls_playlist",
        "hls_playlist",
        "hls_playlist",
        "hls_master",
        "poster",
        "poster_webp",
      ],
    );
    for (const output of manifest.outputs)
      assert.ok((await stack.listKeys(output.key)).includes(output.key), `${output.key} is in S3`);
  });

  test("a cancel after segments are in S3, mid-encode, leaves no playlist naming a missing segment (and nothing of the run)", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-cancelled.mp4";
    const jobId = await stack.uploadAndNotify(key, clip);
    const [files, tree] = runPrefixes(outputLayout(key, "processed", runToken(jobId, 1)));
    let segmentsInS3: string[] = [];
    for (let attempt = 0; attempt < 1200 && segmentsInS3.length === 0; attempt += 1) {
      segmentsInS3 = (await stack.listKeys(`${tree}hls/`)).filter((stored) => stored.endsWith(".ts"));
      if (segmentsInS3.length === 0) await sleep(50);
    }
    assert.ok(segmentsInS3.length > 0, "segments reached S3");
    const midEncode = await stack.store.get(jobId);
    assert.ok(
      !midEncode?.timeline.some((entry) => entry.event === "encoded"),
      "still encoding when the segments were seen",
    );
    assert.equal(
      await assertPlaylistsComplete(stack, tree),
      0,
      "no playlist is in S3 while segments are still being written",
    );
    await stack.store.requestCancel(jobId);
    const job = await stack.waitForJob(jobId, undefined, 30_000);
    assert.equal(job.status, "cancelled");
    await assertPlaylistsComplete(stack, tree);
    assert.deepEqual(
      [...(await stack.listKeys(tree)), ...(await stack.listKeys(files))],
      [],
      "the cancelled run's segments were removed",
    );
    const removed = (event(job, "outputs-removed")?.detail as { count: number } | undefined)?.count ?? 0;
    assert.ok(removed >= segmentsInS3.length, `removed ${removed} outputs, ${segmentsInS3.length} segments were seen`);
  });
});

describe("a segment upload failing mid-encode", () => {
  let stack: TestStack;
  let proxy: FaultProxy;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-retry-"));
    stack = await startTestStack({
      endpointFor: async (emulator) => {
        proxy = await startFaultProxy(emulator);
        return proxy.endpoint;
      },
      env: { VIDEO_HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS), RETRY_BACKOFF_BASE: "1", RETRY_BACKOFF_MAX: "1" },
    });
  });
  after(async () => {
    await stack.stop();
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("fails the run as transient, removes the segments it stored, and the retry publishes only its own complete tree", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-retried.mp4";
    const clip = await readFile(
      await generateClip({ width: 1280, height: 720, durationSec: 8, fps: 10, out: path.join(dir, "retried.mp4") }),
    );
    // Until the job id is known every PUT of this segment fails; after, only the first run's (a new run writes new keys).
    let firstRun: string | undefined;
    proxy.setRule(({ method, path: requestPath }) => {
      const faulted =
        method === "PUT" &&
        requestPath.includes("1700000000-abc-retried.mp4.") &&
        requestPath.split("?")[0]!.endsWith("/hls/720p/segment_00003.ts");
      return faulted && (firstRun === undefined || requestPath.includes(`.${firstRun}/`))
        ? { status: 500, code: "InternalError" }
        : "pass";
    });
    const jobId = await stack.uploadAndNotify(key, clip);
    firstRun = runToken(jobId, 1);
    const job = await stack.waitForJob(
      jobId,
      (record) => record.status === "completed" || record.status === "failed",
      180_000,
    );
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    assert.equal(job.attempts, 2);
    const retry = event(job, "retry-scheduled");
    assert.ok(retry, job.timeline.map((entry) => entry.event).join(","));
    // The failed upload is what failed the run, as the S3 error it is (not a cancel of the encode it stopped).
    const failure = retry.detail as { attempt: number; category: string; code: string; message: string };
    assert.equal(failure.attempt, 1);
    assert.equal(failure.category, "transient", JSON.stringify(failure));
    assert.match(failure.message, /putObject/, JSON.stringify(failure));
    const removed = event(job, "outputs-removed")?.detail as { count: number; reason: string } | undefined;
    assert.equal(removed?.reason, "failed");
    assert.ok(
      (removed?.count ?? 0) >= 3,
      `the first run had stored segments before the failure (removed ${removed?.count})`,
    );

    // Only the second run's tree and files, plus the manifest; its playlists name only stored segments, and it plays.
    const [files, tree] = runPrefixesOf(job);
    assert.ok(tree.includes(runToken(jobId, 2)));
    const everything = await stack.listKeys("tenants/t1/users/u1/media/processed/1700000000-abc-retried");
    assert.deepEqual(
      everything.filter((stored) => !stored.startsWith(files) && !stored.startsWith(tree)),
      [manifestKeyOf(key)],
    );
    assert.deepEqual(await stack.listKeys(runPrefixes(outputLayout(key, "processed", runToken(jobId, 1)))[1]), []);
    assert.deepEqual(await stack.listKeys(`${tree}hls/`), [...(await reachableKeys(stack, tree))].sort());
    await assertPlaylistsComplete(stack, tree);
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
      run: { token: string };
      outputs: Array<{ key: string }>;
    };
    assert.equal(manifest.run.token, runToken(jobId, 2));
    for (const output of manifest.outputs)
      assert.ok(
        output.key.startsWith(files) || output.key.startsWith(tree),
        `${output.key} belongs to the retry's run`,
      );
    const local = path.join(dir, "downloaded");
    for (const hlsKey of await stack.listKeys(`${tree}hls/`)) {
      const target = path.join(local, hlsKey.slice(tree.length));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, await stack.getObject(hlsKey));
    }
    await verifyHlsTree(path.join(local, "hls", "master.m3u8"), {
      sourceDurationSec: 8,
      segmentSeconds: SEGMENT_SECONDS,
    });
  });
});

describe("a worker killed mid-encode", () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-video-crash-"));
    stack = await startTestStack({
      noWorker: true,
      env: { VIDEO_HLS_SEGMENT_SECONDS: String(SEGMENT_SECONDS), SQS_VISIBILITY_TIMEOUT: "10" },
    });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("SIGKILL after segments are in S3 leaves no playlist at all; the retry's manifest names only its own complete tree", async () => {
    const key = "tenants/t1/users/u1/media/1700000000-abc-crashed.mp4";
    const clip = await readFile(
      await generateClip({ width: 1920, height: 1080, durationSec: 10, fps: 10, out: path.join(dir, "crashed.mp4") }),
    );
    const doomed = spawnWorker(stack.envFor({ WORKER_ID: "doomed-video-worker" }));
    const jobId = await stack.uploadAndNotify(key, clip);
    const crashedTree = runPrefixes(outputLayout(key, "processed", runToken(jobId, 1)))[1];
    let segmentsInS3: string[] = [];
    for (let attempt = 0; attempt < 1200 && segmentsInS3.length === 0; attempt += 1) {
      segmentsInS3 = (await stack.listKeys(`${crashedTree}hls/`)).filter((stored) => stored.endsWith(".ts"));
      if (segmentsInS3.length === 0) await sleep(50);
    }
    assert.ok(segmentsInS3.length > 0, "segments reached S3 before the crash");
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    assert.equal(await assertPlaylistsComplete(stack, crashedTree), 0, "the crashed run left segments but no playlist");

    const rescuer = await stack.startAnotherWorker();
    const job = await stack.waitForJob(jobId, (record) => record.status === "completed", 180_000);
    await rescuer.stop(1_000);
    assert.equal(job.attempts, 2);
    const [files, tree] = runPrefixesOf(job);
    assert.ok(tree.includes(runToken(jobId, 2)));
    assert.deepEqual(await stack.listKeys(`${tree}hls/`), [...(await reachableKeys(stack, tree))].sort());
    // Every playlist in S3, of either run, names only stored segments; the crashed run's leftovers (segments only) wait for the sweep of runs older than a job can live.
    await assertPlaylistsComplete(stack, "tenants/t1/users/u1/media/processed/");
    assert.ok((await stack.listKeys(crashedTree)).every((stored) => !stored.endsWith(".m3u8")));
    const manifest = JSON.parse((await stack.getObject(manifestKeyOf(key))).toString()) as {
      run: { token: string };
      outputs: Array<{ key: string }>;
    };
    assert.equal(manifest.run.token, runToken(jobId, 2));
    for (const output of manifest.outputs)
      assert.ok(
        output.key.startsWith(files) || output.key.startsWith(tree),
        `${output.key} belongs to the retry's run`,
      );
  });
});
