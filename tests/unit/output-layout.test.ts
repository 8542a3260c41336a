import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { isOutputKey, parseOutputKey } from "../../src/s3-events/key-rules.ts";
import { MediaError } from "../../src/errors.ts";
import {
  manifestKey,
  MAX_KEY_BYTES,
  MAX_OUTPUT_NAME_BYTES,
  outputKey,
  outputLayout,
  runOf,
  runPrefixes,
  runToken,
  staleRunKeys,
  truncateUtf8,
  utf8Bytes,
} from "../../src/storage/output-keys.ts";

const RUN = "1a2b3c4d";
const media = "tenants/t1/users/u1/media";
/** Every name the built-in processors ask for, and the longest nested ones. */
const NAMES = [
  "thumb_small.webp",
  "optimized.jpg",
  "avif.avif",
  "page_12.webp",
  "text.txt",
  "waveform.dat",
  "poster.jpg",
  "web.mp4",
  "hls/master.m3u8",
  "hls/1080p/segment_00001.ts",
  "storyboard/storyboard.vtt",
];

describe("the output layout", () => {
  test("keeps the seed's shape …/processed/<base>_<variant>.<ext>, with the source's extension and the run in the base", () => {
    const layout = outputLayout(`${media}/1700000000-abc-photo.jpg`, "processed", RUN);
    assert.equal(
      outputKey(layout, "thumb_small.webp"),
      `${media}/processed/1700000000-abc-photo.jpg.1a2b3c4d_thumb_small.webp`,
    );
    assert.equal(
      outputKey(layout, "hls/master.m3u8"),
      `${media}/processed/1700000000-abc-photo.jpg.1a2b3c4d/hls/master.m3u8`,
    );
    assert.equal(manifestKey(layout), `${media}/processed/1700000000-abc-photo.jpg_manifest.json`);
    assert.equal(manifestKey(outputLayout("photo", "processed", RUN)), "processed/photo_manifest.json");
    assert.equal(outputKey(outputLayout("a/.hidden", "out", RUN), "x.jpg"), "a/out/.hidden.1a2b3c4d_x.jpg");
    assert.deepEqual(runPrefixes(layout), [
      `${media}/processed/1700000000-abc-photo.jpg.1a2b3c4d_`,
      `${media}/processed/1700000000-abc-photo.jpg.1a2b3c4d/`,
    ]);
  });

  test("collide.jpg and collide.png, and a Live Photo's IMG_1234.HEIC and IMG_1234.MOV, share no key", () => {
    for (const [a, b] of [
      ["collide.jpg", "collide.png"],
      ["IMG_1234.HEIC", "IMG_1234.MOV"],
      ["IMG_1234.HEIC", "IMG_1234.heic"],
      ["report", "report.pdf"],
    ]) {
      const keysOf = (file: string) =>
        new Set([
          ...NAMES.map((name) => outputKey(outputLayout(`${media}/${file}`, "processed", RUN), name)),
          manifestKey(outputLayout(`${media}/${file}`, "processed", RUN)),
        ]);
      const shared = [...keysOf(a!)].filter((key) => keysOf(b!).has(key));
      assert.deepEqual(shared, [], `${a} and ${b}`);
    }
  });

  test("every key a run writes parses back to its source's base, run and name; other runs of the same source differ", () => {
    const layout = outputLayout(`${media}/my.holiday photo.final.jpg`, "processed", RUN);
    for (const name of NAMES) {
      const parsed = parseOutputKey(outputKey(layout, name), "processed");
      assert.deepEqual(parsed, {
        kind: name.includes("/") ? "nested" : "flat",
        prefix: `${media}/processed/`,
        base: "my.holiday photo.final.jpg",
        run: RUN,
        name,
      });
      assert.equal(runOf(outputKey(layout, name), layout, "processed"), RUN);
    }
    assert.deepEqual(parseOutputKey(manifestKey(layout), "processed"), {
      kind: "manifest",
      prefix: `${media}/processed/`,
      base: "my.holiday photo.final.jpg",
    });
    assert.notEqual(runToken("job", 1), runToken("job", 2));
    assert.equal(runToken("job", 1), runToken("job", 1));
    assert.match(runToken("job", 1), /^[0-9a-f]{8}$/);
  });

  test("no two distinct sources share a key, for thousands of hostile file names (dots, underscores, run-like parts)", () => {
    const pieces = [
      "a",
      ".",
      "_",
      "1a2b3c4d",
      ".1a2b3c4d_",
      "thumb",
      "_manifest.json",
      "jpg",
      "webp",
      "-",
      " ",
      "é",
      "processed",
    ];
    const owners = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const bytes = randomBytes(6);
      const file = Array.from(bytes, (byte) => pieces[byte % pieces.length]).join("");
      if (!file || file === "." || file === "..") continue;
      const run = i % 2 === 0 ? RUN : "0000beef";
      const layout = outputLayout(`${media}/${file}`, "processed", run);
      for (const key of [...NAMES.map((name) => outputKey(layout, name)), manifestKey(layout)]) {
        const owner = `${file}\u0000${key === manifestKey(layout) ? "" : run}`;
        const previous = owners.get(key);
        assert.ok(
          previous === undefined || previous === owner,
          `${JSON.stringify(file)} and ${JSON.stringify(previous)} both write ${key}`,
        );
        owners.set(key, owner);
        assert.ok(isOutputKey(key, "processed"), key);
      }
    }
  });

  test("refuses output names that could escape the layout or pose as a manifest", () => {
    const layout = outputLayout(`${media}/photo.jpg`, "processed", RUN);
    for (const name of [
      "../escape.jpg",
      "hls/../../x",
      "manifest.json",
      "x_manifest.json",
      "two.dots.webp",
      "noextension",
      "a b.webp",
      `hls/${"x".repeat(MAX_OUTPUT_NAME_BYTES)}.ts`,
    ]) {
      assert.throws(
        () => outputKey(layout, name),
        (error: unknown) => error instanceof MediaError && error.code === "invalid-output-name" && !error.retryable,
        name,
      );
    }
  });
});

describe("output keys and S3's 1024-byte limit", () => {
  const longestKey = (layout: ReturnType<typeof outputLayout>) =>
    outputKey(layout, `hls/${"s".repeat(MAX_OUTPUT_NAME_BYTES - 7)}.ts`);

  test("a 1024-byte source key gets a shortened, readable, deterministic base and every key fits", () => {
    const file = `${"é".repeat(300)}-${"x".repeat(300)}.HEIC`;
    const key = `${media}/${"f".repeat(MAX_KEY_BYTES - utf8Bytes(`${media}/`) - utf8Bytes(file) - 1)}/${file}`;
    assert.equal(utf8Bytes(key), MAX_KEY_BYTES);
    const layout = outputLayout(key, "processed", RUN);
    assert.match(layout.base, /^é{300}-x+~[0-9a-f]{16}\.HEIC$/, "keeps the start of the name and its extension");
    assert.ok(utf8Bytes(layout.base) < utf8Bytes(file));
    assert.ok(utf8Bytes(longestKey(layout)) <= MAX_KEY_BYTES, `${utf8Bytes(longestKey(layout))} bytes`);
    for (const name of NAMES) assert.ok(utf8Bytes(outputKey(layout, name)) <= MAX_KEY_BYTES);
    assert.deepEqual(
      outputLayout(key, "processed", "ffffffff").base,
      layout.base,
      "the same source always gets the same base",
    );
    assert.notEqual(
      outputLayout(key.replace(/x\.HEIC$/, "y.HEIC"), "processed", RUN).base,
      layout.base,
      "a different name, a different hash",
    );
  });

  test("short names are kept as they are; a name that looks shortened is shortened too, so the two never meet", () => {
    assert.equal(outputLayout(`${media}/photo.jpg`, "processed", RUN).base, "photo.jpg");
    const long = `${media}/${"n".repeat(1000)}.jpg`;
    const shortened = outputLayout(long, "processed", RUN).base;
    const impostor = outputLayout(`${media}/${shortened}`, "processed", RUN).base;
    assert.notEqual(impostor, shortened);
    assert.match(impostor, /~[0-9a-f]{16}\.jpg$/);
  });

  test("a folder path so long that no output key can fit fails at once, categorised and not retried", () => {
    const key = `${"d".repeat(1000)}/photo.jpg`;
    assert.throws(
      () => outputLayout(key, "processed", RUN),
      (error: unknown) =>
        error instanceof MediaError &&
        error.code === "output-key-too-long" &&
        error.category === "processing" &&
        !error.retryable,
    );
  });

  test("truncation never cuts a UTF-8 character", () => {
    assert.equal(truncateUtf8("aé中😀", 1), "a");
    assert.equal(truncateUtf8("aé中😀", 2), "a");
    assert.equal(truncateUtf8("aé中😀", 3), "aé");
    assert.equal(truncateUtf8("aé中😀", 9), "aé中");
    assert.equal(truncateUtf8("aé中😀", 10), "aé中😀");
  });
});

describe("what counts as an output key", () => {
  test("a user's own folder named processed holds uploads, not outputs", () => {
    for (const key of [
      `${media}/processed/photo.jpg`,
      `${media}/processed/holiday/IMG_1.HEIC`,
      "processed/x.webp",
      `${media}/processed/photo_thumb_small.webp`,
      `${media}/processed-old/x.jpg`,
      "processed.jpg",
      `${media}/processed/x.1A2B3C4D_thumb.webp`,
    ]) {
      assert.equal(isOutputKey(key, "processed"), false, key);
    }
  });

  test("every key the layout writes is an output, including outputs of uploads that sit in a processed folder", () => {
    for (const source of [
      `${media}/photo.jpg`,
      `${media}/processed/photo.jpg`,
      "clip.mov",
      `${media}/processed/processed/x`,
    ]) {
      const layout = outputLayout(source, "processed", RUN);
      for (const name of NAMES)
        assert.equal(isOutputKey(outputKey(layout, name), "processed"), true, outputKey(layout, name));
      assert.equal(isOutputKey(manifestKey(layout), "processed"), true);
    }
    assert.equal(isOutputKey(`${media}/out/photo.jpg.1a2b3c4d_thumb.webp`, "out"), true);
    assert.equal(isOutputKey(`${media}/out/photo.jpg.1a2b3c4d_thumb.webp`, "processed"), false);
  });
});

describe("which old outputs a new manifest removes", () => {
  const layout = outputLayout(`${media}/photo.jpg`, "processed", "cccccccc");
  const now = Date.parse("2026-01-01T12:00:00Z");
  const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000);
  const keyOf = (run: string, name: string) => outputKey({ ...layout, run }, name);
  const listed = [
    { key: keyOf("aaaaaaaa", "thumb_small.webp"), lastModified: at(3) },
    { key: keyOf("aaaaaaaa", "hls/master.m3u8"), lastModified: at(3) },
    { key: keyOf("bbbbbbbb", "thumb_small.webp"), lastModified: at(1) },
    { key: keyOf("dddddddd", "thumb_small.webp"), lastModified: at(120) },
    { key: keyOf("cccccccc", "thumb_small.webp"), lastModified: at(0) },
    { key: manifestKey(layout), lastModified: at(0) },
    // Another source whose name starts the same, listed under the same prefix.
    {
      key: outputKey(outputLayout(`${media}/photo.jpg.old`, "processed", "aaaaaaaa"), "thumb_small.webp"),
      lastModified: at(500),
    },
  ];

  test("the run the replaced manifest named and runs older than a job can live; never this run, a run in progress or another source", () => {
    assert.deepEqual(
      staleRunKeys(listed, layout, "processed", "aaaaaaaa", now, 60 * 60_000),
      [
        keyOf("aaaaaaaa", "hls/master.m3u8"),
        keyOf("aaaaaaaa", "thumb_small.webp"),
        keyOf("dddddddd", "thumb_small.webp"),
      ].sort(),
    );
    assert.deepEqual(staleRunKeys(listed, layout, "processed", undefined, now, 60 * 60_000), [
      keyOf("dddddddd", "thumb_small.webp"),
    ]);
    assert.deepEqual(staleRunKeys(listed, layout, "processed", "cccccccc", now, 60 * 60_000), [
      keyOf("dddddddd", "thumb_small.webp"),
    ]);
  });
});
