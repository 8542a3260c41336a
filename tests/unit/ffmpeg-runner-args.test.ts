import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MediaError } from "../../src/errors.ts";
import { FfmpegProgressParser } from "../../src/media/ffmpeg-progress.ts";
import { classifyToolFailure, ffmpegCommandArgs, stderrSummary } from "../../src/media/ffmpeg.runner.ts";
import { ffprobeArgs, parseRatio, rotationOf, summariseProbe } from "../../src/media/ffprobe.ts";
import {
  demuxerForProbedFormat,
  findUnsafeArguments,
  safeInputArgs,
  VIDEO_DEMUXERS,
} from "../../src/media/safe-input.ts";
import { TailBuffer } from "../../src/media/tool-process.ts";

describe("safe input arguments", () => {
  test("an input is opened by file: path with protocol and format whitelists, in that order", () => {
    assert.deepEqual(
      safeInputArgs("/tmp/job/input", { demuxers: ["mov", "matroska"], format: "mov", before: ["-ss", "1.5"] }),
      [
        "-protocol_whitelist",
        "file,pipe",
        "-format_whitelist",
        "mov,matroska",
        "-f",
        "mov",
        "-ss",
        "1.5",
        "-i",
        "file:/tmp/job/input",
      ],
    );
  });

  test("relative paths, playlist demuxers and a format outside the whitelist are refused", () => {
    assert.throws(() => safeInputArgs("input.mp4"), /absolute/);
    assert.throws(() => safeInputArgs("/tmp/x", { demuxers: ["mov", "hls"] }), /whitelist/);
    assert.throws(() => safeInputArgs("/tmp/x", { demuxers: ["mov"], format: "concat" }), /not in the whitelist/);
  });

  test("the probed format name maps to a whitelisted demuxer alias", () => {
    assert.equal(demuxerForProbedFormat("mov,mp4,m4a,3gp,3g2,mj2", VIDEO_DEMUXERS), "mov");
    assert.equal(demuxerForProbedFormat("matroska,webm", VIDEO_DEMUXERS), "matroska");
    assert.equal(demuxerForProbedFormat("hls", VIDEO_DEMUXERS), undefined);
  });

  test("unsafe argument lists are found: forbidden flags, URL inputs, inputs without whitelists", () => {
    assert.deepEqual(findUnsafeArguments([...safeInputArgs("/a/b"), "-c", "copy", "/a/out.mp4"]), []);
    assert.match(findUnsafeArguments(["-f", "concat", "-safe", "0", ...safeInputArgs("/a/b")]).join(), /-safe 0/);
    assert.match(findUnsafeArguments(["-i", "http://example.com/x.mp4"]).join(), /not a file: absolute path/);
    assert.match(
      findUnsafeArguments(["-protocol_whitelist", "file,pipe", "-i", "file:/a/b"]).join(),
      /no -format_whitelist/,
    );
    assert.match(findUnsafeArguments(["-allowed_extensions", "ALL"]).join(), /forbidden/);
    // The whitelist of a first input does not cover a second one.
    assert.match(findUnsafeArguments([...safeInputArgs("/a/b"), "-i", "file:/a/c"]).join(), /no -format_whitelist/);
  });
});

describe("ffmpeg and ffprobe command lines", () => {
  test("every ffmpeg run gets no stdin, errors-only stderr and machine progress on stdout", () => {
    assert.deepEqual(ffmpegCommandArgs(["-i", "x"]), [
      "-nostdin",
      "-hide_banner",
      "-loglevel",
      "error",
      "-progress",
      "pipe:1",
      "-nostats",
      "-i",
      "x",
    ]);
  });

  test("ffprobe asks for JSON format and streams of the safely opened file", () => {
    assert.deepEqual(ffprobeArgs("/t/in", ["mov"]), [
      "-hide_banner",
      "-loglevel",
      "error",
      "-print_format",
      "json",
      "-show_format",
      "-show_streams",
      "-protocol_whitelist",
      "file,pipe",
      "-format_whitelist",
      "mov",
      "-i",
      "file:/t/in",
    ]);
  });
});

describe("progress parsing", () => {
  test("blocks split across chunks become progress with percent of the known duration", () => {
    const parser = new FfmpegProgressParser(10);
    assert.deepEqual(parser.push("frame=25\nfps=24.5\nout_time_us=2500"), []);
    const [first] = parser.push("000\nspeed=1.25x\nprogress=continue\nframe=250\nout_time_us=N/A\n");
    assert.deepEqual(first, { outTimeSec: 2.5, speed: 1.25, frame: 25, percent: 25, done: false });
    const [last] = parser.push("speed=N/A\nprogress=end\n");
    assert.deepEqual(last, { outTimeSec: 0, speed: undefined, frame: 250, percent: 100, done: true });
  });

  test("without a duration there is no percent, and out_time is clamped at 0", () => {
    const [block] = new FfmpegProgressParser().push("out_time_us=-23000\nprogress=continue\n");
    assert.equal(block?.percent, undefined);
    assert.equal(block?.outTimeSec, 0);
  });
});

describe("failure classification", () => {
  const failed = { exitCode: 1, exitSignal: null, timedOut: false };
  test("a whitelist refusal is a processing error named format-refused", () => {
    const error = classifyToolFailure("ffprobe", {
      ...failed,
      stderrTail: "[hls @ 0x1] Format not on whitelist 'mov'\nfile:/x: Invalid argument\n",
    });
    assert.equal(error.category, "processing");
    assert.equal(error.code, "format-refused");
  });

  test("a full disk is a retryable resource error; an outside SIGKILL is a resource error", () => {
    const disk = classifyToolFailure("ffmpeg", { ...failed, stderrTail: "out.ts: No space left on device" });
    assert.deepEqual([disk.category, disk.code, disk.retryable], ["resource", "disk-full", true]);
    const killed = classifyToolFailure("ffmpeg", {
      exitCode: null,
      exitSignal: "SIGKILL",
      timedOut: false,
      stderrTail: "",
    });
    assert.deepEqual([killed.category, killed.code], ["resource", "ffmpeg-killed"]);
  });

  test("other exits are processing/ffmpeg-failed with the stderr tail in message and detail", () => {
    const error = classifyToolFailure("ffmpeg", {
      ...failed,
      stderrTail: "a\nb\nInvalid data found when processing input\n",
    });
    assert.ok(error instanceof MediaError);
    assert.equal(error.code, "ffmpeg-failed");
    assert.match(error.message, /code 1: a \| b \| Invalid data found/);
    assert.match(String(error.detail?.["stderrTail"]), /Invalid data/);
  });

  test("our own timeout is resource/<tool>-timeout", () => {
    const error = classifyToolFailure(
      "ffmpeg",
      { exitCode: null, exitSignal: "SIGKILL", timedOut: true, stderrTail: "" },
      500,
    );
    assert.deepEqual([error.category, error.code], ["resource", "ffmpeg-timeout"]);
  });

  test("the stderr summary keeps the last lines and a bounded length", () => {
    assert.equal(stderrSummary("1\n2\n3\n4\n5\n"), "2 | 3 | 4 | 5");
    assert.equal(stderrSummary("x".repeat(1000), 10).length, 11);
  });

  test("the stderr tail keeps only the last bytes", () => {
    const tail = new TailBuffer(5);
    for (const part of ["abc", "def", "ghi"]) tail.push(Buffer.from(part));
    assert.equal(tail.toString(), "efghi");
  });
});

describe("probe summary", () => {
  test("rotation: display matrix is counter-clockwise, the rotate tag clockwise", () => {
    assert.equal(rotationOf({ side_data_list: [{ side_data_type: "Display Matrix", rotation: -90 }] }), 90);
    assert.equal(rotationOf({ side_data_list: [{ rotation: 90 }] }), 270);
    assert.equal(rotationOf({ tags: { rotate: "180" } }), 180);
    assert.equal(rotationOf({}), 0);
  });

  test("ratios parse, 0/0 is unknown", () => {
    assert.equal(parseRatio("30000/1001").toFixed(3), "29.970");
    assert.equal(parseRatio("4:3"), 4 / 3);
    assert.equal(parseRatio("0/0"), 0);
  });

  test("a rotated, anamorphic stream reports its displayed size; cover art is not video", () => {
    const probe = summariseProbe(
      {
        format: {
          format_name: "mov,mp4,m4a,3gp,3g2,mj2",
          duration: 3,
          bit_rate: 1000,
          size: 10,
          format_long_name: undefined,
          tags: undefined,
        },
        streams: [
          {
            index: 0,
            codec_type: "video",
            codec_name: "mjpeg",
            width: 600,
            height: 600,
            disposition: { attached_pic: 1 },
            duration: undefined,
            bit_rate: undefined,
            nb_frames: undefined,
            nb_read_packets: undefined,
            duration_ts: undefined,
            sample_rate: undefined,
            tags: undefined,
          },
          {
            index: 1,
            codec_type: "video",
            codec_name: "h264",
            width: 1440,
            height: 1080,
            sample_aspect_ratio: "4:3",
            avg_frame_rate: "30/1",
            side_data_list: [{ rotation: -90 }],
            duration: 3,
            bit_rate: undefined,
            nb_frames: 90,
            nb_read_packets: undefined,
            duration_ts: undefined,
            sample_rate: undefined,
            tags: undefined,
          },
          {
            index: 2,
            codec_type: "audio",
            codec_name: "aac",
            channels: 2,
            sample_rate: 48000,
            duration: 3,
            bit_rate: 128000,
            nb_frames: undefined,
            nb_read_packets: undefined,
            duration_ts: undefined,
            tags: undefined,
          },
        ],
      },
      VIDEO_DEMUXERS,
    );
    assert.equal(probe.format.demuxer, "mov");
    assert.equal(probe.attachedPictureCount, 1);
    assert.equal(probe.video?.index, 1);
    assert.deepEqual(
      [probe.video?.displayWidth, probe.video?.displayHeight, probe.video?.rotationDeg],
      [1080, 1920, 90],
    );
    assert.equal(probe.audio?.sampleRate, 48000);
  });

  test("zero streams is a processing error, not an empty success", () => {
    assert.throws(
      () =>
        summariseProbe({
          format: {
            format_name: "mov",
            duration: undefined,
            bit_rate: undefined,
            size: undefined,
            format_long_name: undefined,
            tags: undefined,
          },
          streams: [],
        }),
      (error: MediaError) => error.code === "no-streams" && error.category === "processing",
    );
  });
});
