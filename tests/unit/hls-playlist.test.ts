import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveHlsUri, rewritePlaylist } from "../../src/api/hls-playlist.ts";

test("a master playlist's rung URIs point back at the hls route, relative to the playlist's folder", () => {
  const master = [
    "#EXTM3U",
    "#EXT-X-VERSION:6",
    '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"',
    "240p/index.m3u8",
    "",
  ].join("\n");
  assert.equal(
    rewritePlaylist(master, "master.m3u8"),
    [
      "#EXTM3U",
      "#EXT-X-VERSION:6",
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=426x240,CODECS="avc1.640015,mp4a.40.2"',
      "hls?file=240p%2Findex.m3u8",
      "",
    ].join("\n"),
  );
});

test("a media playlist's segments and its init map are rewritten; tags stay as they are", () => {
  const media = [
    "#EXTM3U",
    '#EXT-X-MAP:URI="init.mp4"',
    "#EXTINF:1.000,",
    "segment_00000.m4s",
    "#EXTINF:0.5,",
    "segment_00001.m4s",
    "#EXT-X-ENDLIST",
  ].join("\r\n");
  assert.deepEqual(rewritePlaylist(media, "240p/index.m3u8").split("\n"), [
    "#EXTM3U",
    '#EXT-X-MAP:URI="hls?file=240p%2Finit.mp4"',
    "#EXTINF:1.000,",
    "hls?file=240p%2Fsegment_00000.m4s",
    "#EXTINF:0.5,",
    "hls?file=240p%2Fsegment_00001.m4s",
    "#EXT-X-ENDLIST",
  ]);
});

test("URIs that would leave the job's folder, or name another host or scheme, are dropped with their tag", () => {
  for (const uri of ["../../other-tenant/secret.ts", "file:///etc/passwd", "data:video/mp2t;base64,AAAA"])
    assert.equal(resolveHlsUri("240p/index.m3u8", uri), undefined, uri);
  assert.equal(resolveHlsUri("240p/index.m3u8", "../../x.ts"), undefined);
  assert.equal(resolveHlsUri("240p/index.m3u8", "https://evil.example/x.ts"), undefined);
  assert.equal(resolveHlsUri("240p/index.m3u8", "/abs.ts"), undefined);
  assert.equal(
    resolveHlsUri("240p/index.m3u8", "../720p/index.m3u8"),
    "720p/index.m3u8",
    "a sibling rung stays inside the folder",
  );
  const hostile = [
    "#EXTM3U",
    "#EXTINF:1,",
    "../../../../etc/passwd",
    "#EXTINF:1,",
    "ok.ts",
    '#EXT-X-MAP:URI="https://evil.example/init.mp4"',
  ].join("\n");
  assert.deepEqual(rewritePlaylist(hostile, "240p/index.m3u8").split("\n"), [
    "#EXTM3U",
    "#EXTINF:1,",
    "hls?file=240p%2Fok.ts",
  ]);
});
