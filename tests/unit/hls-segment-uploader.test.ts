import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { transientError, type MediaError } from "../../src/errors.ts";
import type { OutputFile, OutputRequest } from "../../src/processors/processor.ts";
import { closedHlsFiles, HlsSegmentUploader } from "../../src/processors/video/hls-segment-uploader.ts";

/**
 * The segment uploader on a folder the test writes the way ffmpeg does with `-hls_flags
 * temp_file` (`<segment>.tmp`, renamed when closed; init files created empty, filled before the
 * first segment's rename). It must upload closed files only, never a playlist, at most
 * `parallel` at once, and report the first failure.
 */
describe("closed HLS files", () => {
  test("segments under their final name are closed; .tmp files and playlists never are", () => {
    assert.deepEqual(
      closedHlsFiles(
        ["720p/segment_00001.ts.tmp", "720p/segment_00000.ts", "720p/index.m3u8", "master.m3u8", "720p/iframes.m3u8"],
        false,
      ),
      ["720p/segment_00000.ts"],
    );
  });

  test("an init file is closed once its folder has a segment, or once ffmpeg has exited", () => {
    const writing = ["480p/init_0.mp4", "720p/init_1.mp4", "720p/segment_00000.m4s", "480p/segment_00000.m4s.tmp"];
    assert.deepEqual(closedHlsFiles(writing, false), ["720p/init_1.mp4", "720p/segment_00000.m4s"]);
    assert.deepEqual(closedHlsFiles(writing, true), ["480p/init_0.mp4", "720p/init_1.mp4", "720p/segment_00000.m4s"]);
  });
});

describe("HLS segment uploader", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "mp-seg-up-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const stored = (request: OutputRequest): OutputFile => ({
    key: `run/${request.name}`,
    variant: request.variant,
    contentType: request.contentType,
    bytes: 1,
  });

  test("uploads each segment once as it closes, the last ones after the encode ends, never a playlist, within the bound", async () => {
    const dir = path.join(root, "live");
    await mkdir(path.join(dir, "720p"), { recursive: true });
    const started: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let completed = 0;
    const uploader = new HlsSegmentUploader({
      hlsDir: dir,
      parallel: 2,
      pollMs: 10,
      signal: new AbortController().signal,
      upload: async (request) => {
        started.push(request.name);
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 15));
        inFlight -= 1;
        completed += 1;
        return stored(request);
      },
    });
    uploader.start();
    await writeFile(path.join(dir, "720p", "init_0.mp4"), "");
    for (let index = 0; index < 5; index += 1) {
      const name = `segment_0000${index}.m4s`;
      await writeFile(path.join(dir, "720p", `${name}.tmp`), "partial");
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.ok(!started.includes(`hls/720p/${name}`), `${name} must not go up before it is closed`);
      await rename(path.join(dir, "720p", `${name}.tmp`), path.join(dir, "720p", name));
    }
    // Until what is closed so far has gone up (the poll is every 10 ms): nothing is waiting for the encode to end.
    for (let wait = 0; wait < 500 && completed < 6; wait += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(started.includes("hls/720p/segment_00000.m4s"), "segments go up while the encode runs");
    assert.ok(started.includes("hls/720p/init_0.mp4"), "the init file goes up once a segment of its rendition exists");
    // The last segment and the playlist appear as ffmpeg exits (written synchronously here, so no poll sees them first).
    writeFileSync(path.join(dir, "720p", "segment_00005.m4s"), "last");
    writeFileSync(path.join(dir, "720p", "index.m3u8"), "#EXTM3U");
    uploader.encodeEnded();
    const outputs = await uploader.finish();
    assert.deepEqual(
      outputs.map((output) => output.key),
      ["run/hls/720p/init_0.mp4", ...[0, 1, 2, 3, 4, 5].map((index) => `run/hls/720p/segment_0000${index}.m4s`)],
    );
    assert.equal(new Set(started).size, started.length, "no file uploaded twice");
    assert.ok(maxInFlight <= 2);
    assert.ok(
      uploader.storedBeforeExit > 0 && uploader.storedBeforeExit < outputs.length,
      `${uploader.storedBeforeExit} of ${outputs.length} stored before the end, ${completed} completed`,
    );
    assert.ok(!uploader.has("hls/720p/index.m3u8"));
  });

  test("the first failed upload is reported once, stops new uploads, and finish rejects with it", async () => {
    const dir = path.join(root, "failing");
    await mkdir(path.join(dir, "480p"), { recursive: true });
    for (let index = 0; index < 6; index += 1) await writeFile(path.join(dir, "480p", `segment_0000${index}.ts`), "x");
    const failures: MediaError[] = [];
    const started: string[] = [];
    const uploader = new HlsSegmentUploader({
      hlsDir: dir,
      parallel: 1,
      pollMs: 5,
      signal: new AbortController().signal,
      onError: (error) => failures.push(error),
      upload: async (request) => {
        started.push(request.name);
        if (request.name.endsWith("segment_00001.ts")) throw transientError("aws-5xx", "s3:putObject failed");
        return stored(request);
      },
    });
    uploader.start();
    await assert.rejects(
      uploader.finish(),
      (error: MediaError) => error.code === "aws-5xx" && error.category === "transient",
    );
    assert.equal(failures.length, 1);
    assert.deepEqual(
      started,
      ["hls/480p/segment_00000.ts", "hls/480p/segment_00001.ts"],
      "nothing starts after the failure",
    );
  });

  test("an aborted signal starts no upload; stop waits for the uploads in flight", async () => {
    const dir = path.join(root, "aborted");
    await mkdir(path.join(dir, "480p"), { recursive: true });
    await writeFile(path.join(dir, "480p", "segment_00000.ts"), "x");
    const controller = new AbortController();
    let settled = 0;
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const uploader = new HlsSegmentUploader({
      hlsDir: dir,
      parallel: 2,
      pollMs: 5,
      signal: controller.signal,
      upload: async (request) => {
        started();
        await new Promise((resolve) => setTimeout(resolve, 40));
        settled += 1;
        return stored(request);
      },
    });
    uploader.start();
    await firstStarted;
    controller.abort("cancelled");
    await writeFile(path.join(dir, "480p", "segment_00001.ts"), "x");
    await uploader.stop();
    assert.equal(settled, 1, "the upload in flight was awaited, the new segment never started");
    assert.ok(uploader.has("hls/480p/segment_00000.ts"));
  });
});
