import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseMediaPlaylist } from "../../src/processors/video/master-playlist.ts";
import { outputKey, outputLayout, runToken } from "../../src/storage/output-keys.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { startTestStack, type TestStack } from "../helpers/stack.ts";
import { CHUNK_ENV, decodeErrors, entries } from "./chunk-helpers.ts";

/**
 * Playable early: once the audio and the first chunk are in, the master and growing EVENT
 * playlists are in S3 (and `playable` is on the timeline) while later chunks still encode; the
 * finished playlists append the rest and ENDLIST. One slow worker, one task at a time, so the
 * early state lasts long enough to read.
 */
describe("a chunked video is playable before it is finished", () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "mp-chunk-playable-"));
    stack = await startTestStack({
      env: {
        ...CHUNK_ENV,
        VIDEO_HLS_RUNGS: "144:200k:64k,240:300k:64k,360:600k:96k",
        VIDEO_X264_PRESET: "slow",
        MEDIA_PROCESSOR_CONCURRENCY: "1",
      },
    });
  });
  after(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("the playable state comes before completed and its playlists are valid at that moment", async () => {
    const clip = await generateClip({
      width: 640,
      height: 360,
      durationSec: 20,
      fps: 25,
      out: path.join(dir, "clip.mp4"),
    });
    const key = "tenants/t1/users/u1/media/1700000000-early.mp4";
    const jobId = await stack.uploadAndNotify(key, await readFile(clip));
    const playable = await stack.waitForJob(jobId, (job) => entries(job, "playable").length > 0, 120_000);
    assert.equal(playable.status, "processing", "playable before the job completed");
    assert.equal(entries(playable, "playable")[0]?.["early"], true);
    // The planner's run (its first claim) names every key of the tree.
    const layout = outputLayout(key, "processed", runToken(playable.id, playable.attempts));
    const master = (await stack.getObject(outputKey(layout, "hls/master.m3u8"))).toString();
    const rung = (await stack.getObject(outputKey(layout, "hls/360p/index.m3u8"))).toString();
    const audio = (await stack.getObject(outputKey(layout, "hls/audio/index.m3u8"))).toString();
    const still = await stack.store.get(jobId);
    assert.ok(still && entries(still, "stitched").length === 0, "read before the stitch");
    assert.match(master, /#EXT-X-MEDIA:TYPE=AUDIO/);
    const early = parseMediaPlaylist(rung);
    assert.match(rung, /#EXT-X-PLAYLIST-TYPE:EVENT/);
    assert.equal(early.ended, false, "a growing playlist has no ENDLIST yet");
    assert.ok(early.segments.length >= 2 && early.segments.length < 10, `${early.segments.length} segments so far`);
    // What is listed plays: its segments, in order, decode clean (closed here, as a player would stop at the end).
    const local = path.join(dir, "early");
    await mkdir(local, { recursive: true });
    for (const segment of early.segments)
      await writeFile(
        path.join(local, segment.uri),
        await stack.getObject(outputKey(layout, `hls/360p/${segment.uri}`)),
      );
    await writeFile(path.join(local, "index.m3u8"), `${rung}#EXT-X-ENDLIST\n`);
    assert.equal(await decodeErrors(path.join(local, "index.m3u8")), "");
    assert.equal(parseMediaPlaylist(audio).ended, true, "the audio is complete from the start");

    const job = await stack.waitForJob(jobId, undefined, 180_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const events = job.timeline.map((entry) => entry.event);
    assert.ok(events.indexOf("playable") < events.indexOf("completed"));
    const final = (await stack.getObject(outputKey(layout, "hls/360p/index.m3u8"))).toString();
    assert.match(final, /#EXT-X-PLAYLIST-TYPE:EVENT/, "an EVENT playlist stays EVENT");
    const finished = parseMediaPlaylist(final);
    assert.equal(finished.ended, true);
    assert.equal(finished.segments.length, 10);
    assert.deepEqual(
      finished.segments.slice(0, early.segments.length).map((segment) => segment.uri),
      early.segments.map((segment) => segment.uri),
      "the finished playlist only appends",
    );
    const metrics = stack.worker.metrics.registry;
    assert.match(
      await metrics.getSingleMetricAsString("media_video_time_to_playable_seconds"),
      /media_video_time_to_playable_seconds_count\{duration="<1m"\} 1/,
    );
    assert.match(
      await metrics.getSingleMetricAsString("media_video_time_to_publish_seconds"),
      /media_video_time_to_publish_seconds_count\{duration="<1m"\} 1/,
    );
  });
});
