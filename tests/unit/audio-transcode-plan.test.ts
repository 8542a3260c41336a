import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  mp3Bitrate,
  pcmDecodeOutputArgs,
  planTranscode,
  planTranscodes,
  transcodeOutputArgs,
  webSampleRate,
  type SourceAudio,
  type TranscodeSettings,
} from "../../src/processors/audio/transcode-plan.ts";

const settings: TranscodeSettings = {
  formats: ["mp3", "aac", "ogg"],
  mp3BitrateKbps: 192,
  aacBitrateKbps: 160,
  opusBitrateKbps: 96,
  maxDurationSec: 14400,
};
const wavStereo: SourceAudio = {
  codec: "pcm_s16le",
  bitrateKbps: 1411,
  sampleRate: 44100,
  channels: 2,
  lossless: true,
};

describe("audio transcode plan", () => {
  it("a stereo lossless source gets the configured bitrates, its own rate, and Opus at 48 kHz", () => {
    assert.deepEqual(planTranscodes(wavStereo, settings), [
      {
        format: "mp3",
        variant: "mp3",
        name: "mp3.mp3",
        contentType: "audio/mpeg",
        codecName: "mp3",
        encoder: "libmp3lame",
        muxer: "mp3",
        bitrateKbps: 192,
        sampleRate: 44100,
        channels: 2,
      },
      {
        format: "aac",
        variant: "aac",
        name: "aac.m4a",
        contentType: "audio/mp4",
        codecName: "aac",
        encoder: "aac",
        muxer: "ipod",
        bitrateKbps: 160,
        sampleRate: 44100,
        channels: 2,
      },
      {
        format: "ogg",
        variant: "ogg",
        name: "ogg.ogg",
        contentType: "audio/ogg",
        codecName: "opus",
        encoder: "libopus",
        muxer: "ogg",
        bitrateKbps: 96,
        sampleRate: 48000,
        channels: 2,
      },
    ]);
  });

  it("never inflates: a 96 kbit/s AAC source is not re-encoded to 192 kbit/s MP3", () => {
    const source: SourceAudio = { codec: "aac", bitrateKbps: 96, sampleRate: 44100, channels: 2, lossless: false };
    const [mp3, aac, ogg] = planTranscodes(source, settings);
    assert.equal(mp3?.bitrateKbps, 96);
    assert.equal(mp3?.encoder, "libmp3lame");
    // Same codec at or under the target: copied, no generation loss.
    assert.equal(aac?.encoder, "copy");
    assert.equal(aac?.bitrateKbps, 96);
    assert.equal(ogg?.bitrateKbps, 96);
  });

  it("a 96 kbit/s MP3 source is copied into the MP3 output rather than re-encoded", () => {
    const source: SourceAudio = { codec: "mp3", bitrateKbps: 96, sampleRate: 44100, channels: 2, lossless: false };
    const mp3 = planTranscode("mp3", source, settings);
    assert.equal(mp3.encoder, "copy");
    assert.deepEqual(transcodeOutputArgs(mp3, "/tmp/job/out.mp3", 14400), [
      "-map",
      "0:a:0",
      "-vn",
      "-sn",
      "-dn",
      "-map_metadata",
      "0",
      "-c:a",
      "copy",
      "-t",
      "14400",
      "-id3v2_version",
      "3",
      "-f",
      "mp3",
      "/tmp/job/out.mp3",
    ]);
  });

  it("a 320 kbit/s MP3 source is re-encoded down to the configured bitrate", () => {
    const source: SourceAudio = { codec: "mp3", bitrateKbps: 320, sampleRate: 44100, channels: 2, lossless: false };
    const mp3 = planTranscode("mp3", source, settings);
    assert.equal(mp3.encoder, "libmp3lame");
    assert.equal(mp3.bitrateKbps, 192);
  });

  it("mono stays mono at half the stereo bitrate", () => {
    const source: SourceAudio = { ...wavStereo, channels: 1 };
    for (const target of planTranscodes(source, settings)) assert.equal(target.channels, 1);
    assert.deepEqual(
      planTranscodes(source, settings).map((target) => target.bitrateKbps),
      [96, 80, 48],
    );
  });

  it("surround is mixed down to stereo", () => {
    assert.equal(planTranscode("aac", { ...wavStereo, channels: 6 }, settings).channels, 2);
  });

  it("picks a sample rate each codec handles", () => {
    assert.equal(webSampleRate(96000), 48000);
    assert.equal(webSampleRate(88200), 44100);
    assert.equal(webSampleRate(192000), 48000);
    assert.equal(webSampleRate(37800), 44100);
    assert.equal(webSampleRate(22050), 22050);
    assert.equal(webSampleRate(undefined), 44100);
    assert.equal(planTranscode("ogg", { ...wavStereo, sampleRate: 22050 }, settings).sampleRate, 48000);
  });

  it("snaps MP3 bitrates to the table of the MPEG version the rate implies", () => {
    assert.equal(mp3Bitrate(150, 44100), 128);
    assert.equal(mp3Bitrate(192, 48000), 192);
    assert.equal(mp3Bitrate(20, 44100), 32);
    assert.equal(mp3Bitrate(96, 22050), 96);
    assert.equal(mp3Bitrate(192, 22050), 160);
    assert.equal(mp3Bitrate(20, 16000), 16);
  });

  it("builds exact encoder arguments per container", () => {
    const [mp3, aac, ogg] = planTranscodes(wavStereo, settings);
    assert.deepEqual(transcodeOutputArgs(mp3!, "/w/mp3.mp3", 600), [
      "-map",
      "0:a:0",
      "-vn",
      "-sn",
      "-dn",
      "-map_metadata",
      "0",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "192k",
      "-ar",
      "44100",
      "-ac",
      "2",
      "-t",
      "600",
      "-id3v2_version",
      "3",
      "-f",
      "mp3",
      "/w/mp3.mp3",
    ]);
    assert.deepEqual(transcodeOutputArgs(aac!, "/w/aac.m4a", 600), [
      "-map",
      "0:a:0",
      "-vn",
      "-sn",
      "-dn",
      "-map_metadata",
      "0",
      "-c:a",
      "aac",
      "-b:a",
      "160k",
      "-ar",
      "44100",
      "-ac",
      "2",
      "-t",
      "600",
      "-movflags",
      "+faststart",
      "-f",
      "ipod",
      "/w/aac.m4a",
    ]);
    assert.deepEqual(transcodeOutputArgs(ogg!, "/w/ogg.ogg", 600), [
      "-map",
      "0:a:0",
      "-vn",
      "-sn",
      "-dn",
      "-map_metadata",
      "0",
      "-c:a",
      "libopus",
      "-b:a",
      "96k",
      "-vbr",
      "constrained",
      "-ar",
      "48000",
      "-ac",
      "2",
      "-t",
      "600",
      "-f",
      "ogg",
      "/w/ogg.ogg",
    ]);
  });

  it("decodes to s16le PCM on stdout at the probed rate and channel count", () => {
    assert.deepEqual(pcmDecodeOutputArgs({ sampleRate: 44100, channels: 2 }, 600), [
      "-map",
      "0:a:0",
      "-vn",
      "-sn",
      "-dn",
      "-c:a",
      "pcm_s16le",
      "-ar",
      "44100",
      "-ac",
      "2",
      "-t",
      "600",
      "-f",
      "s16le",
      "pipe:1",
    ]);
  });

  it("an empty format list plans nothing", () => {
    assert.deepEqual(planTranscodes(wavStereo, { ...settings, formats: [] }), []);
  });
});
