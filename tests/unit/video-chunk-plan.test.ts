import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { tasksOf } from "../../src/pipeline/chunked/chunk-handoff.ts";
import { buildChunkTask, parseChunkTask, partName } from "../../src/pipeline/chunked/chunk-task.ts";
import { chunkLadderArgs, audioRenditionArgs } from "../../src/processors/video/chunk-command.ts";
import { buildChunkPlan, chunkingUnsupported, planChunks } from "../../src/processors/video/chunk-plan.ts";
import { mediaPlaylist, stitchTree, type PartRecord } from "../../src/processors/video/chunk-playlists.ts";
import { planLadder } from "../../src/processors/video/ladder-plan.ts";
import { testConfig } from "../helpers/process-locally.ts";

describe("chunk plan (pure)", () => {
  test("chunks fall on segment boundaries; a sub-segment tail joins the chunk before it", () => {
    const plan = planChunks({ durationSec: 61.5, segmentSeconds: 6, chunkSeconds: 25 });
    // 25 s rounds up to 30 s of whole 6 s segments.
    assert.deepEqual(
      plan?.map((chunk) => [chunk.startSec, chunk.endSec, chunk.firstSegment]),
      [
        [0, 30, 0],
        [30, undefined, 5],
      ],
    );
    assert.deepEqual(
      planChunks({ durationSec: 66, segmentSeconds: 6, chunkSeconds: 30 })?.map((chunk) => chunk.endSec),
      // 0–30, then the last two chunks' 36 s re-cut as 18 + 12 + 6 (shrinking tail).
      [30, 48, 60, undefined],
    );
  });

  test("a short first chunk (whole segments, at most a chunk) moves every later boundary, not the decision", () => {
    const starts = (input: { durationSec: number; chunkSeconds: number; firstSeconds: number }) =>
      planChunks({ segmentSeconds: 6, ...input })?.map((chunk) => [chunk.startSec, chunk.firstSegment]);
    assert.deepEqual(starts({ durationSec: 150, chunkSeconds: 30, firstSeconds: 6 }), [
      [0, 0],
      [6, 1],
      [36, 6],
      [66, 11],
      [96, 16],
      [126, 21],
      [138, 23],
    ]);
    // 10 s rounds up to 12 s; a first chunk longer than a chunk is a chunk.
    assert.deepEqual(
      starts({ durationSec: 66, chunkSeconds: 30, firstSeconds: 10 })?.map(([start]) => start),
      [0, 12, 42, 54],
    );
    assert.deepEqual(
      starts({ durationSec: 66, chunkSeconds: 30, firstSeconds: 45 })?.map(([start]) => start),
      [0, 30, 48, 60],
    );
    // The tail rule holds after the shift: 40 s → 0–6, 6–36 and 4 s left, which joins the chunk before it.
    assert.deepEqual(
      starts({ durationSec: 40, chunkSeconds: 30, firstSeconds: 6 })?.map(([start]) => start),
      [0, 6],
    );
    // A video one chunk long stays one pass even though a 6 s first chunk would split it.
    assert.equal(starts({ durationSec: 31, chunkSeconds: 30, firstSeconds: 6 }), undefined);
  });

  test("the last two chunks are re-cut into shrinking pieces, so the fleet's last task is short", () => {
    const lengths = (durationSec: number, chunkSeconds: number, segmentSeconds: number, firstSeconds = 6) =>
      planChunks({ durationSec, segmentSeconds, chunkSeconds, firstSeconds })?.map(
        (chunk) => (chunk.endSec ?? durationSec) - chunk.startSec,
      );
    // 150 s in 30 s chunks: 6 + 4 × 30 + 24 before; the last 54 s (30 + 24) become 30 + 12 + 12.
    assert.deepEqual(lengths(150, 30, 6), [6, 30, 30, 30, 30, 12, 12]);
    // A one-segment last chunk: the 36 s before the end become 18 + 12 + 6.
    assert.deepEqual(lengths(132, 30, 6), [6, 30, 30, 30, 18, 12, 6]);
    // A partial last segment stays with the last piece.
    assert.deepEqual(lengths(153.5, 30, 6), [6, 30, 30, 30, 30, 12, 15.5]);
    // The first chunk (playback waits for it) is never re-cut; a two-chunk video stays as it was.
    assert.deepEqual(lengths(40, 30, 6), [6, 34]);
    // One-segment chunks cannot shrink: the integration tests' 14 s clip keeps its four chunks.
    assert.deepEqual(lengths(14, 4, 2, 0), [4, 4, 4, 2]);
    for (const duration of [61, 95, 150, 600, 3601]) {
      const pieces = lengths(duration, 30, 6)!;
      assert.ok(
        pieces.every((piece) => piece <= 30 + 6),
        `${duration} s: no piece over a chunk (+ a partial segment)`,
      );
      assert.ok(
        pieces.slice(-3).every((piece, index, tail) => index === 0 || piece <= tail[index - 1]! + 6),
        `${duration} s: the tail shrinks: ${pieces.join(", ")}`,
      );
      assert.ok(Math.abs(pieces.reduce((sum, piece) => sum + piece, 0) - duration) < 1e-9);
    }
  });

  test("below two chunks, off, or without a duration there is no chunk plan", () => {
    assert.equal(planChunks({ durationSec: 31, segmentSeconds: 6, chunkSeconds: 30 }), undefined);
    assert.equal(planChunks({ durationSec: 600, segmentSeconds: 6, chunkSeconds: 0 }), undefined);
    assert.equal(planChunks({ durationSec: undefined, segmentSeconds: 6, chunkSeconds: 30 }), undefined);
  });

  test("unsupported cases fall back to one pass and say why", () => {
    const source = { fps: 30, baseFps: 30, audioStreamIndex: 1 };
    assert.equal(chunkingUnsupported(testConfig({ VIDEO_CHUNK_SECONDS: "30" }), source), undefined);
    assert.match(chunkingUnsupported(testConfig({ VIDEO_HLS_SEGMENT_FORMAT: "fmp4" }), source) ?? "", /fMP4/);
    assert.match(chunkingUnsupported(testConfig({ ENABLE_HLS_TRANSCODING: "false" }), source) ?? "", /MP4/);
    assert.match(chunkingUnsupported(testConfig(), { fps: 30, baseFps: 120, audioStreamIndex: 1 }) ?? "", /variable/);
    assert.match(
      chunkingUnsupported(testConfig({ VIDEO_ADD_SILENT_AUDIO: "true" }), { ...source, audioStreamIndex: undefined }) ??
        "",
      /silent/,
    );
  });

  const plan = buildChunkPlan({
    demuxer: "mov",
    source: { videoStreamIndex: 0, audioStreamIndex: 1, fps: 25, baseFps: 25, durationSec: 14 },
    display: { width: 320, height: 180, bitDepth: 8 },
    rungs: planLadder({ width: 320, height: 180 }, [
      { height: 144, videoKbps: 200, audioKbps: 64 },
      { height: 180, videoKbps: 400, audioKbps: 96 },
    ]),
    settings: { x264Preset: "veryfast", maxFps: 60, segmentSeconds: 2, keyframeSeconds: 2, addSilentAudio: false },
    chunks: planChunks({ durationSec: 14, segmentSeconds: 2, chunkSeconds: 4 })!,
  });

  test("a chunk's command seeks to its start, stops at its end, keeps the global keyframe grid and timeline, and numbers its segments globally", () => {
    const args = chunkLadderArgs({ inputPath: "/tmp/job/input", plan, chunkIndex: 1, outDir: "/tmp/job/hls" });
    const at = (flag: string) => args[args.indexOf(flag) + 1];
    assert.ok(args.indexOf("-ss") < args.indexOf("-i"), "input seek (accurate, before -i)");
    assert.equal(at("-ss"), "4.000");
    assert.equal(at("-t"), "4.000");
    assert.equal(at("-output_ts_offset"), "5.000");
    assert.equal(at("-start_number"), "2");
    assert.equal(at("-force_key_frames"), "expr:gte(t,n_forced*2)");
    assert.equal(at("-var_stream_map"), "v:0,name:144p v:1,name:180p");
    assert.ok(!args.includes("-c:a"), "no audio in a video chunk");
    const last = chunkLadderArgs({ inputPath: "/tmp/job/input", plan, chunkIndex: 3, outDir: "/tmp/job/hls" });
    assert.ok(!last.includes("-t"), "the last chunk runs to the end");
    const first = chunkLadderArgs({ inputPath: "/tmp/job/input", plan, chunkIndex: 0, outDir: "/tmp/job/hls" });
    assert.ok(!first.includes("-ss"));
    assert.equal(first[first.indexOf("-output_ts_offset") + 1], "1.000");
  });

  test("the audio task encodes the whole file's audio once, on the same timeline offset", () => {
    const args = audioRenditionArgs({ inputPath: "/tmp/job/input", plan, outDir: "/tmp/job/hls" });
    assert.equal(args[args.indexOf("-map") + 1], "0:1");
    assert.equal(args[args.indexOf("-output_ts_offset") + 1], "1.000");
    assert.equal(args[args.indexOf("-b:a") + 1], "96k");
    assert.ok(!args.includes("-ss"));
  });

  test("chunk task bodies are strict: no bucket, key or URL gets through", () => {
    const body = buildChunkTask({
      jobId: "abc123",
      planId: "0123abcd-0000",
      part: "video",
      chunkIndex: 2,
      startSec: 8,
      endSec: 12,
    });
    const parsed = parseChunkTask(body);
    assert.equal(parsed.kind, "chunk");
    const forged = JSON.stringify({ ...JSON.parse(body), key: "../../etc/passwd" });
    assert.equal(parseChunkTask(forged).kind, "invalid");
    assert.equal(parseChunkTask(JSON.stringify({ Records: [] })).kind, "not-a-chunk");
  });

  test("tasks: audio first (playback waits for it), the chunks in order, the stills last", () => {
    const tasks = tasksOf("abc123", "0123abcd-0000", plan);
    assert.deepEqual(tasks.map(partName), ["audio", "v0", "v1", "v2", "v3", "stills"]);
    assert.deepEqual(
      tasks.map((task) => task.chunkIndex),
      [4, 0, 1, 2, 3, 5],
    );
    for (const task of tasks) assert.equal(parseChunkTask(buildChunkTask(task)).kind, "chunk");
  });

  test("the stitch lists every chunk's segments in order under an audio group", () => {
    const part = (first: number, count: number): PartRecord => ({
      segments: Object.fromEntries(
        ["144p", "180p"].map((name) => [
          name,
          Array.from({ length: count }, (_, index) => ({
            uri: `segment_${String(first + index).padStart(5, "0")}.ts`,
            durationSec: 2,
            bytes: 50_000,
          })),
        ]),
      ),
      codecs: { "144p": "avc1.64000b", "180p": "avc1.64000c" },
      workerId: "w",
      startedAt: 0,
      endedAt: 1,
    });
    const audio: PartRecord = {
      segments: {
        audio: Array.from({ length: 7 }, (_, index) => ({
          uri: `segment_0000${index}.ts`,
          durationSec: 2,
          bytes: 24_000,
        })),
      },
      codecs: {},
      workerId: "w",
      startedAt: 0,
      endedAt: 1,
    };
    const tree = stitchTree(plan, [part(0, 2), part(2, 2), part(4, 2), part(6, 1)], audio, 25);
    const rung = tree.files.find((file) => file.name === "180p/index.m3u8")!.text;
    assert.deepEqual(
      rung.split("\n").filter((line) => line.startsWith("segment_")),
      ["00000", "00001", "00002", "00003", "00004", "00005", "00006"].map((n) => `segment_${n}.ts`),
    );
    assert.match(rung, /#EXT-X-PLAYLIST-TYPE:VOD/);
    assert.match(rung, /#EXT-X-ENDLIST/);
    const master = tree.files.at(-1)!;
    assert.equal(master.name, "master.m3u8");
    assert.match(
      master.text,
      /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="audio\/index.m3u8"/,
    );
    assert.match(master.text, /CODECS="avc1.64000c,mp4a.40.2",FRAME-RATE=25.000,AUDIO="aac"\n180p\/index.m3u8/);
    // 200 kbit/s of video plus 96 kbit/s of audio.
    assert.equal(tree.renditions.find((rendition) => rendition.name === "180p")?.averageBandwidth, 200_000 + 96_000);
    assert.doesNotMatch(mediaPlaylist([], { ended: false }), /ENDLIST/);
  });
});
