import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { expectedOutputFps } from "../../src/processors/video/encode-options.ts";
import { knownVariant } from "../../src/processors/video/rendition-stats.ts";

/**
 * A rendition is described from what its command fixed (size, streams, the frame-rate grid,
 * confirmed by the frames ffmpeg reported) instead of probing its first segment again; the
 * probe stays for whatever that does not settle. The media golden tests (tests/media/
 * video-processor.test.ts) check the master playlists this produces against the real outputs.
 */
describe("rendition facts without a probe", () => {
  test("the expected grid: the cap when capped, the base rate for constant-rate video, none for variable-rate video", () => {
    assert.equal(expectedOutputFps({ fps: 120, baseFps: 120 }, 60), 60);
    assert.equal(expectedOutputFps({ fps: 30000 / 1001, baseFps: 30000 / 1001 }, 60), 30000 / 1001);
    assert.equal(
      expectedOutputFps({ fps: 29.9, baseFps: 30 }, 60),
      30,
      "a constant-rate output is timed on the base rate",
    );
    assert.equal(
      expectedOutputFps({ fps: 30.43, baseFps: 120 }, 60),
      undefined,
      "variable-rate frames keep their own times",
    );
    assert.equal(expectedOutputFps({ fps: 25, baseFps: undefined }, 60), 25);
  });

  const segments = [{ durationSec: 2 }, { durationSec: 2 }, { durationSec: 1 }];
  const video = { width: 1280, height: 720, gridFps: 30 };

  test("a video rung: its size, the SPS's codec string plus AAC-LC, the grid the frame count confirms", () => {
    assert.deepEqual(
      knownVariant({ known: { video, audio: true }, encodedFrames: 150, expectVideo: true }, "avc1.64001f", segments),
      {
        codecs: ["avc1.64001f", "mp4a.40.2"],
        resolution: { width: 1280, height: 720 },
        frameRate: 30,
      },
    );
    assert.deepEqual(
      knownVariant({ known: { video, audio: false }, encodedFrames: 149, expectVideo: true }, "avc1.64001f", segments)
        ?.codecs,
      ["avc1.64001f"],
    );
  });

  test("an audio-only rendition is AAC-LC with no size or rate", () => {
    assert.deepEqual(
      knownVariant(
        { known: { video: undefined, audio: true }, encodedFrames: 150, expectVideo: false },
        undefined,
        segments,
      ),
      { codecs: ["mp4a.40.2"], resolution: undefined, frameRate: undefined },
    );
  });

  test("what is not settled falls back to the probe: no configuration, no frame count, a count off the grid, no grid, no facts", () => {
    const known = { video, audio: true };
    assert.equal(knownVariant({ known, encodedFrames: 150, expectVideo: true }, undefined, segments), undefined);
    assert.equal(
      knownVariant({ known, encodedFrames: undefined, expectVideo: true }, "avc1.64001f", segments),
      undefined,
    );
    assert.equal(
      knownVariant({ known, encodedFrames: 160, expectVideo: true }, "avc1.64001f", segments),
      undefined,
      "32 fps counted is not a 30 fps grid",
    );
    assert.equal(
      knownVariant(
        { known: { video: { ...video, gridFps: undefined }, audio: true }, encodedFrames: 150, expectVideo: true },
        "avc1.64001f",
        segments,
      ),
      undefined,
    );
    assert.equal(
      knownVariant({ known: undefined, encodedFrames: 150, expectVideo: true }, "avc1.64001f", segments),
      undefined,
    );
  });
});
