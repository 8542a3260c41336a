import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { signDeliveryUrl, verifyDeliveryUrl } from "../../src/api/media/delivery-signature.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import { generateClip } from "../helpers/generate-video.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";

/**
 * Signed delivery (DELIVERY_SIGNING_KEYS): the helper's rules on their own, then a deployment
 * with public playback and two keys (a rotation), where a player holding only the URLs it was
 * given plays HLS down to a segment, and expired, tampered, misplaced and retired-key URLs get 403.
 */
const NEW_KEY = "delivery-key-new-0123456789abcdef0123456789";
const OLD_KEY = "delivery-key-old-0123456789abcdef0123456789";
const RETIRED_KEY = "delivery-key-retired-0123456789abcdef012345";
const nowSec = () => Math.floor(Date.now() / 1000);

/** The same base64url string with one character in the middle changed. */
function tamper(signature: string): string {
  const at = 10;
  return signature.slice(0, at) + (signature[at] === "A" ? "B" : "A") + signature.slice(at + 1);
}

function withParam(url: string, name: string, value: string): string {
  const parsed = new URL(url, "http://x");
  parsed.searchParams.set(name, value);
  return url.startsWith("http") ? parsed.href : `${parsed.pathname}${parsed.search}`;
}

test("a signed URL verifies under its key until it expires; altered, misplaced or foreign-key ones do not", () => {
  const url = "/api/media/item/stream?key=tenants%2Ft1%2Fa.mp4&file=master.m3u8";
  const expires = nowSec() + 600;
  const signed = signDeliveryUrl(url, NEW_KEY, expires);
  assert.match(
    signed,
    /^\/api\/media\/item\/stream\?key=tenants%2Ft1%2Fa\.mp4&file=master\.m3u8&expires=\d+&sig=[A-Za-z0-9_-]{43}$/,
  );
  assert.deepEqual(verifyDeliveryUrl(signed, [NEW_KEY, OLD_KEY]), { ok: true, expiresAtSec: expires });
  const sig = new URL(signed, "http://x").searchParams.get("sig")!;

  assert.deepEqual(verifyDeliveryUrl(url, [NEW_KEY]), { ok: false, reason: "unsigned" });
  assert.deepEqual(
    verifyDeliveryUrl(withParam(signed, "sig", tamper(sig)), [NEW_KEY]),
    { ok: false, reason: "mismatch" },
    "tampered",
  );
  assert.deepEqual(
    verifyDeliveryUrl(withParam(signed, "expires", String(expires + 3600)), [NEW_KEY]),
    { ok: false, reason: "mismatch" },
    "a later expiry is not signed",
  );
  assert.deepEqual(
    verifyDeliveryUrl(withParam(signed, "file", "v0/index.m3u8"), [NEW_KEY]),
    { ok: false, reason: "mismatch" },
    "another file",
  );
  assert.deepEqual(
    verifyDeliveryUrl(signed.replace("/stream?", "/output?"), [NEW_KEY]),
    { ok: false, reason: "mismatch" },
    "another path",
  );
  assert.deepEqual(
    verifyDeliveryUrl(`${signed}&extra=1`, [NEW_KEY]),
    { ok: false, reason: "mismatch" },
    "an added parameter",
  );
  assert.deepEqual(
    verifyDeliveryUrl(signed, [RETIRED_KEY]),
    { ok: false, reason: "mismatch" },
    "a key that did not sign it",
  );
  assert.deepEqual(
    verifyDeliveryUrl(`${signed}&sig=${sig}`, [NEW_KEY]),
    { ok: false, reason: "malformed" },
    "a repeated signature",
  );
  // 43 base64url characters carry two spare bits: only the canonical spelling is accepted.
  const last = sig.at(-1)!;
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
  assert.equal(
    Buffer.from(sig.slice(0, -1) + sibling, "base64url").equals(Buffer.from(sig, "base64url")),
    true,
    "the sibling decodes to the same bytes",
  );
  assert.deepEqual(verifyDeliveryUrl(withParam(signed, "sig", sig.slice(0, -1) + sibling), [NEW_KEY]), {
    ok: false,
    reason: "malformed",
  });

  const expired = signDeliveryUrl(url, NEW_KEY, nowSec() - 1);
  assert.deepEqual(verifyDeliveryUrl(expired, [NEW_KEY]), { ok: false, reason: "expired" });
  assert.deepEqual(
    verifyDeliveryUrl(withParam(expired, "sig", tamper(new URL(expired, "http://x").searchParams.get("sig")!)), [
      NEW_KEY,
    ]),
    { ok: false, reason: "mismatch" },
    "a forged URL is a mismatch whatever its expiry",
  );

  // Parameter order and escaping do not matter; the host is not signed (a CDN edge verifies the same URL).
  const reordered = `/api/media/item/stream?file=master.m3u8&sig=${sig}&key=tenants/t1/a.mp4&expires=${expires}`;
  assert.equal(verifyDeliveryUrl(reordered, [NEW_KEY]).ok, true);
  const cdn = signDeliveryUrl("https://cdn.example.com/tenants/t1/processed/a.jpg", OLD_KEY, expires);
  assert.equal(
    verifyDeliveryUrl(cdn.replace("https://cdn.example.com", ""), [NEW_KEY, OLD_KEY]).ok,
    true,
    "rotation: the old key still verifies",
  );
  // A relative URI is signed for the path it resolves to, and stays relative.
  const relative = signDeliveryUrl(
    "stream?key=k&file=v0%2Findex.m3u8",
    NEW_KEY,
    expires,
    "/api/media/item/stream?key=k&file=master.m3u8",
  );
  assert.match(relative, /^stream\?key=k&file=v0%2Findex\.m3u8&expires=/);
  assert.equal(
    verifyDeliveryUrl(
      new URL(relative, "http://x/api/media/item/stream").pathname +
        new URL(relative, "http://x/api/media/item/stream").search,
      [NEW_KEY],
    ).ok,
    true,
  );
});

test("the OpenAPI document names expires and sig, and the 403 they cause, on every playback route", () => {
  type Operation = {
    parameters: Array<{ name: string; in: string; schema: { pattern?: string } }>;
    responses: Record<string, { description: string }>;
  };
  const paths = openApiDocument.paths as unknown as Record<string, { get: Operation }>;
  for (const route of ["/api/media/item/playback", "/api/media/item/output", "/api/media/item/stream"]) {
    const operation = paths[route]!.get;
    const names = operation.parameters
      .filter((parameter) => parameter.in === "query")
      .map((parameter) => parameter.name);
    assert.ok(names.includes("expires") && names.includes("sig"), `${route}: ${names.join(",")}`);
    const sig = operation.parameters.find((parameter) => parameter.name === "sig")!;
    const issued = new URL(signDeliveryUrl(route, NEW_KEY, nowSec()), "http://x").searchParams.get("sig")!;
    assert.match(issued, new RegExp(sig.schema.pattern!), "the documented pattern admits what we sign");
    assert.match(operation.responses["403"]!.description, /signature-invalid/);
  }
});

test("the verification helper README shows accepts our signed URLs and refuses expired, tampered, misplaced and foreign-key ones", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const source = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1]!)
    .find((block) => block.includes("verifyMediaUrl"));
  assert.ok(source, "README holds the helper");
  const scratch = await mkdtemp(path.join(os.tmpdir(), "readme-delivery-"));
  try {
    const file = path.join(scratch, "verify.ts");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(file, source.replace(/^\/\/ Or:.*$/m, ""));
    const { verifyMediaUrl } = (await import(file)) as {
      verifyMediaUrl: (url: string, keys: string[], nowSec?: number) => boolean;
    };
    const url = `/api/media/item/output?key=${encodeURIComponent("tenants/t1/users/u1/media/a b+c.png")}&variant=poster`;
    const signed = signDeliveryUrl(url, OLD_KEY, nowSec() + 60);
    assert.equal(verifyMediaUrl(signed, [NEW_KEY, OLD_KEY]), true);
    assert.equal(verifyMediaUrl(`https://media-api.example.com${signed}`, [OLD_KEY]), true, "the host is not signed");
    assert.equal(verifyMediaUrl(signed, [RETIRED_KEY]), false, "a key that did not sign it");
    assert.equal(
      verifyMediaUrl(withParam(signed, "sig", tamper(new URL(signed, "http://x").searchParams.get("sig")!)), [OLD_KEY]),
      false,
      "tampered",
    );
    assert.equal(verifyMediaUrl(withParam(signed, "variant", "thumb_small"), [OLD_KEY]), false, "another output");
    assert.equal(verifyMediaUrl(signDeliveryUrl(url, OLD_KEY, nowSec() - 1), [OLD_KEY]), false, "expired");
    // The README's copy and the module agree on every URL the module signs.
    for (const candidate of [
      signed,
      signDeliveryUrl("https://cdn.example.com/media/x%20y.jpg?v=1&a=2", NEW_KEY, nowSec() + 5),
    ]) {
      assert.equal(verifyMediaUrl(candidate, [NEW_KEY, OLD_KEY]), verifyDeliveryUrl(candidate, [NEW_KEY, OLD_KEY]).ok);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

describe("signed delivery with public playback and two keys", () => {
  let t: ApiTestStack;
  let dir: string;
  let key: string;
  type Playback = {
    status: string;
    playback: { type: string; url: string };
    hls: string;
    poster: string;
    mp4: string | null;
    thumbnails: Array<{ variant: string; url: string }>;
  };
  let info: Playback;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "signed-delivery-"));
    t = await startApiTestStack({
      apiEnv: { API_PLAYBACK_PUBLIC: "true", DELIVERY_SIGNING_KEYS: `${NEW_KEY},${OLD_KEY}`, DELIVERY_URL_TTL: "10m" },
    });
    const clip = await readFile(
      await generateClip({ width: 320, height: 180, durationSec: 2, out: path.join(dir, "clip.mp4") }),
    );
    key = `tenants/t1/users/u1/media/${nowSec()}-0a1b2c3d4e5f-clip.mp4`;
    const jobId = await t.stack.uploadAndNotify(key, clip);
    const job = await t.stack.waitForJob(jobId, undefined, 240_000);
    assert.equal(job.status, "completed", JSON.stringify(job.error));
    const response = await t.call<Playback>("GET", `/api/media/item/playback?key=${encodeURIComponent(key)}`);
    assert.equal(response.status, 200, response.text);
    info = response.body;
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (url: string, init: RequestInit = {}) => fetch(new URL(url, t.baseUrl), { redirect: "manual", ...init });
  const uris = (playlist: string) => [
    ...playlist.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#")),
    ...[...playlist.matchAll(/URI="([^"]*)"/g)].map((match) => match[1]!),
  ];

  test("a player with only the signed URL plays: master, media playlist and every segment through the signed URIs inside", async () => {
    assert.equal(info.playback.type, "hls");
    assert.match(info.hls, /^\/api\/media\/item\/stream\?.*&expires=\d+&sig=[A-Za-z0-9_-]{43}$/);
    const masterUrl = new URL(info.hls, t.baseUrl);
    const masterResponse = await open(info.hls);
    assert.equal(masterResponse.status, 200);
    const master = await masterResponse.text();
    assert.match(master, /^#EXTM3U/);
    const inMaster = uris(master);
    assert.ok(inMaster.length >= 1);
    const expires = masterUrl.searchParams.get("expires");
    for (const uri of inMaster) {
      const resolved = new URL(uri, masterUrl);
      assert.equal(verifyDeliveryUrl(resolved.pathname + resolved.search, [NEW_KEY]).ok, true, `signed: ${uri}`);
      assert.equal(resolved.searchParams.get("expires"), expires, "URIs expire with the playlist that named them");
    }
    const rungUrl = new URL(inMaster.find((uri) => !uri.includes("iframe"))!, masterUrl);
    const rungResponse = await fetch(rungUrl);
    assert.equal(rungResponse.status, 200);
    const rung = await rungResponse.text();
    const inRung = uris(rung);
    assert.ok(inRung.length >= 1, rung);
    for (const uri of inRung) {
      const redirect = await fetch(new URL(uri, rungUrl), { redirect: "manual" });
      assert.equal(redirect.status, 302, `segment ${uri}`);
      const bytes = Buffer.from(await (await fetch(redirect.headers.get("location")!)).arrayBuffer());
      assert.ok(bytes.length > 100, `media behind ${uri}`);
    }
  });

  test("every URI form a playlist can hold is signed for its own file: init (EXT-X-MAP), renditions (EXT-X-MEDIA), I-frame playlists, segments", async () => {
    const item = await t.call<{ outputs: Array<{ variant: string; key: string }> }>(
      "GET",
      `/api/media/item?key=${encodeURIComponent(key)}`,
    );
    const folder = path.posix.dirname(item.body.outputs.find((output) => output.variant === "hls_master")!.key);
    // An fMP4-style playlist in the item's folder, with every kind of URI HLS (RFC 8216) allows.
    const playlist = [
      "#EXTM3U",
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="en",URI="audio/index.m3u8"',
      '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1000,URI="v0/iframes.m3u8"',
      '#EXT-X-MAP:URI="v0/init.mp4"',
      "#EXTINF:2.0,",
      "v0/seg_000.m4s",
      "#EXTINF:2.0,",
      "v0/seg_001.m4s?cache=1",
      "#EXT-X-ENDLIST",
    ].join("\n");
    await t.stack.upload(`${folder}/synthetic.m3u8`, playlist);
    const url = signDeliveryUrl(
      `/api/media/item/stream?key=${encodeURIComponent(key)}&file=synthetic.m3u8`,
      NEW_KEY,
      nowSec() + 120,
    );
    const served = await open(url);
    assert.equal(served.status, 200);
    const text = await served.text();
    const base = new URL(url, t.baseUrl);
    const files = uris(text).map((uri) => {
      const resolved = new URL(uri, base);
      assert.equal(verifyDeliveryUrl(resolved.pathname + resolved.search, [NEW_KEY]).ok, true, uri);
      return resolved.searchParams.get("file");
    });
    assert.deepEqual(
      files.sort(),
      ["audio/index.m3u8", "v0/init.mp4", "v0/iframes.m3u8", "v0/seg_000.m4s", "v0/seg_001.m4s"].sort(),
    );
    const init = await fetch(new URL(uris(text).find((uri) => uri.includes("init.mp4"))!, base), {
      redirect: "manual",
    });
    assert.equal(init.status, 302);
    assert.ok(
      decodeURIComponent(init.headers.get("location")!).includes(`${folder}/v0/init.mp4`),
      "the init segment's own file",
    );
  });

  test("item and playback URLs are signed output-route URLs that redirect to the file", async () => {
    assert.match(info.poster, /^\/api\/media\/item\/output\?key=.*&variant=poster&expires=\d+&sig=/);
    const redirect = await open(info.poster);
    assert.equal(redirect.status, 302);
    const poster = await fetch(redirect.headers.get("location")!);
    assert.equal(poster.status, 200);
    assert.equal((await sharp(Buffer.from(await poster.arrayBuffer())).metadata()).format, "jpeg");
    const item = await t.call<{ outputs: Array<{ variant: string; url: string }> }>(
      "GET",
      `/api/media/item?key=${encodeURIComponent(key)}`,
    );
    assert.ok(item.body.outputs.length > 2);
    for (const output of item.body.outputs)
      assert.equal(verifyDeliveryUrl(output.url, [NEW_KEY]).ok, true, output.variant);
    // The master through the output route lands on the signed stream route, not on S3.
    const master = item.body.outputs.find((output) => output.variant === "hls_master")!;
    const toStream = await open(master.url);
    assert.equal(toStream.status, 302);
    assert.equal((await open(toStream.headers.get("location")!)).status, 200);
  });

  test("without a signature a tokenless request is refused; a token still works", async () => {
    const plain = `/api/media/item/stream?key=${encodeURIComponent(key)}&file=master.m3u8`;
    assert.equal((await t.call("GET", plain, { authorization: null })).status, 401);
    assert.equal(
      (await t.call("GET", `/api/media/item/playback?key=${encodeURIComponent(key)}`, { authorization: null })).status,
      401,
    );
    assert.equal((await open(plain, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).status, 200);
    // An app backend mints a playback-info URL for its player with the exported helper.
    const mintedUntil = nowSec() + 60;
    const minted = signDeliveryUrl(`/api/media/item/playback?key=${encodeURIComponent(key)}`, NEW_KEY, mintedUntil);
    const played = await t.call<Playback>("GET", minted, { authorization: null });
    assert.equal(played.status, 200, played.text);
    assert.deepEqual(
      verifyDeliveryUrl(played.body.hls, [NEW_KEY]),
      { ok: true, expiresAtSec: mintedUntil },
      "what it hands out expires with it",
    );
    assert.deepEqual(verifyDeliveryUrl(played.body.poster, [NEW_KEY]), { ok: true, expiresAtSec: mintedUntil });
    // A token's answer signs for DELIVERY_URL_TTL (10 minutes here).
    const byToken = verifyDeliveryUrl(info.hls, [NEW_KEY]);
    assert.ok(byToken.ok && byToken.expiresAtSec > nowSec() + 500, JSON.stringify(byToken));
  });

  test("expired, tampered, misplaced and retired-key URLs get 403; the rotating-out key still plays", async () => {
    const master = `/api/media/item/stream?key=${encodeURIComponent(key)}&file=master.m3u8`;
    const refused = async (url: string, code: string, why: string) => {
      const response = await t.call<{ type: string }>("GET", url, { authorization: null });
      assert.equal(response.status, 403, `${why}: ${response.text}`);
      assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
      assert.match(response.body.type, new RegExp(`${code}$`), why);
    };
    await refused(signDeliveryUrl(master, NEW_KEY, nowSec() - 5), "signature-expired", "expired");
    const good = signDeliveryUrl(master, NEW_KEY, nowSec() + 60);
    await refused(
      withParam(good, "sig", tamper(new URL(good, "http://x").searchParams.get("sig")!)),
      "signature-invalid",
      "tampered",
    );
    await refused(withParam(good, "file", "v0/index.m3u8"), "signature-invalid", "a signature for another file");
    const otherKey = withParam(good, "key", key.replace("clip.mp4", "other.mp4"));
    await refused(otherKey, "signature-invalid", "a signature for another item");
    await refused(
      good.replace("/item/stream?", "/item/output?").replace("file=master.m3u8", "variant=poster"),
      "signature-invalid",
      "a signature for another path",
    );
    await refused(signDeliveryUrl(master, RETIRED_KEY, nowSec() + 60), "signature-invalid", "a retired key");
    // A valid token does not rescue a broken signature: the link itself is wrong.
    assert.equal((await t.call("GET", signDeliveryUrl(master, NEW_KEY, nowSec() - 5))).status, 403);

    const rotated = await open(signDeliveryUrl(master, OLD_KEY, nowSec() + 60));
    assert.equal(rotated.status, 200, "signed with the second (old) key");
    // What it serves is signed with the first key.
    const inside = uris(await rotated.text());
    const resolved = new URL(inside[0]!, new URL(master, t.baseUrl));
    assert.equal(verifyDeliveryUrl(resolved.pathname + resolved.search, [NEW_KEY]).ok, true);
  });
});

test("with signing off, expires and sig are ignored and access is unchanged", async () => {
  const t = await startApiTestStack({});
  try {
    const key = "tenants/t1/users/u1/media/1700000000-aaaaaaaaaaaa-x.mp4";
    const url = signDeliveryUrl(
      `/api/media/item/stream?key=${encodeURIComponent(key)}&file=master.m3u8`,
      NEW_KEY,
      nowSec() - 5,
    );
    assert.equal((await t.call("GET", url, { authorization: null })).status, 401, "still needs a token");
    assert.equal((await t.call("GET", url)).status, 404, "with a token: no such item, the signature plays no part");
  } finally {
    await t.stop();
  }
});

test("with a CDN, signed HLS plays through the stream route and its redirects are CDN URLs signed over their own path", async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), "signed-cdn-"));
  const t = await startApiTestStack({
    apiEnv: {
      API_PLAYBACK_PUBLIC: "true",
      DELIVERY_SIGNING_KEYS: NEW_KEY,
      CDN_BASE_URL: "https://cdn.example.com/media",
    },
  });
  try {
    const clip = await readFile(
      await generateClip({ width: 320, height: 180, durationSec: 2, out: path.join(dir, "clip.mp4") }),
    );
    const key = `tenants/t1/users/u1/media/${nowSec()}-0f1e2d3c4b5a-cdn.mp4`;
    const job = await t.stack.waitForJob(await t.stack.uploadAndNotify(key, clip), undefined, 240_000);
    assert.equal(job.status, "completed");
    const info = (
      await t.call<{ hls: string; poster: string }>("GET", `/api/media/item/playback?key=${encodeURIComponent(key)}`)
    ).body;
    assert.match(
      info.hls,
      /^\/api\/media\/item\/stream\?/,
      "not the CDN's master: its relative URIs would lose the signature",
    );
    const masterUrl = new URL(info.hls, t.baseUrl);
    const master = await (await fetch(masterUrl)).text();
    const rungUrl = new URL(master.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"))!, masterUrl);
    const rung = await (await fetch(rungUrl)).text();
    const segment = await fetch(
      new URL(rung.split("\n").find((line) => line.trim() !== "" && !line.startsWith("#"))!, rungUrl),
      { redirect: "manual" },
    );
    assert.equal(segment.status, 302);
    const location = new URL(segment.headers.get("location")!);
    assert.equal(location.origin, "https://cdn.example.com");
    assert.ok(location.pathname.startsWith("/media/tenants/t1/users/u1/media/processed/"), location.pathname);
    assert.equal(
      location.searchParams.get("expires"),
      masterUrl.searchParams.get("expires"),
      "the redirect expires with the URL that led to it",
    );
    // What an edge function in front of the CDN runs: the same helper, the same keys.
    assert.equal(verifyDeliveryUrl(location.pathname + location.search, [NEW_KEY]).ok, true);
    const poster = await fetch(new URL(info.poster, t.baseUrl), { redirect: "manual" });
    assert.equal(poster.status, 302);
    const posterLocation = new URL(poster.headers.get("location")!);
    assert.equal(posterLocation.origin, "https://cdn.example.com");
    assert.equal(verifyDeliveryUrl(posterLocation.pathname + posterLocation.search, [NEW_KEY]).ok, true);
  } finally {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
