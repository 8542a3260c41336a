import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { MediaError } from "../../src/errors.ts";
import { runFfmpeg } from "../../src/media/ffmpeg.runner.ts";
import { probeMedia } from "../../src/media/ffprobe.ts";
import { createVideoProcessor } from "../../src/processors/video.processor.ts";
import { processLocally, testConfig } from "../helpers/process-locally.ts";
import { generateClip } from "../helpers/generate-video.ts";

/**
 * Hostile uploads and job control against the real ffmpeg. An "mp4" that is really an HLS
 * playlist or an ffconcat list names other files and URLs; the tests prove none of them is
 * opened. A FIFO stands in for the secret file: opening a FIFO for reading is observable
 * (a non-blocking writer can open it only while a reader has it open), which a regular
 * file's access is not. Control runs without our flags show the same files do get opened.
 */

const execFileAsync = promisify(execFile);

let dir: string;
let server: Server;
let httpRequests: string[];
let baseUrl: string;
let secretSegment: Buffer;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "mp-hostile-"));
  httpRequests = [];
  server = createServer((request, response) => {
    httpRequests.push(request.url ?? "");
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const segment = path.join(dir, "secret-source.ts");
  await runFfmpeg({
    args: [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=64x64:r=5",
      "-t",
      "0.4",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-f",
      "mpegts",
      "-y",
      segment,
    ],
    trustedInputs: true,
  });
  secretSegment = await readFile(segment);
});
after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

/** A fresh FIFO named like a media segment (the hls demuxer only opens "media" extensions). */
async function makeSecretFifo(name: string): Promise<string> {
  const fifo = path.join(dir, name);
  await execFileAsync("mkfifo", [fifo]);
  return fifo;
}

/**
 * Runs `action` while watching the FIFO: if anything opens it for reading, the watcher notices,
 * feeds it the secret bytes (so a control run can finish) and reports true.
 */
async function wasOpenedDuring(
  fifo: string,
  action: () => Promise<unknown>,
): Promise<{ opened: boolean; outcome: PromiseSettledResult<unknown> }> {
  let opened = false;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      try {
        const handle = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        opened = true;
        await handle.write(secretSegment.subarray(0, 60_000)).catch(() => undefined);
        await handle.close();
      } catch {
        // ENXIO: no reader has the FIFO open.
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const [outcome] = await Promise.allSettled([action()]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  watching = false;
  await watcher;
  return { opened, outcome: outcome! };
}

const hlsPlaylist = (entries: string[]) =>
  `#EXTM3U\n#EXT-X-TARGETDURATION:2\n${entries.map((entry) => `#EXTINF:2,\n${entry}\n`).join("")}#EXT-X-ENDLIST\n`;

describe("an upload that is really a playlist reads nothing else", () => {
  test("control: without the format whitelist, ffprobe opens the local file an HLS 'mp4' names", async () => {
    const fifo = await makeSecretFifo("control-secret.ts");
    const upload = path.join(dir, "control.mp4");
    await writeFile(upload, hlsPlaylist([`file://${fifo}`]));
    const { opened } = await wasOpenedDuring(fifo, () =>
      execFileAsync("ffprobe", ["-v", "error", "-protocol_whitelist", "file,pipe", "-show_format", upload], {
        timeout: 10_000,
      }),
    );
    assert.equal(opened, true, "the control must show the attack works, or the real test proves nothing");
  });

  test("the video processor refuses an HLS playlist posing as mp4: processing/format-refused, no file or URL opened", async () => {
    const fifo = await makeSecretFifo("secret.ts");
    const upload = path.join(dir, "holiday.mp4");
    // ffmpeg 5.1's hls demuxer already refuses http entries of a playlist opened from a local file
    // (it inherits the file protocol's file,crypto,data whitelist), so the URL is a second line
    // of evidence only; the FIFO is the entry the control above shows being opened.
    await writeFile(upload, hlsPlaylist([`file://${fifo}`, `${baseUrl}/secret.ts`, "file:///etc/passwd"]));
    const config = testConfig({ VIDEO_X264_PRESET: "ultrafast" });
    const { opened, outcome } = await wasOpenedDuring(fifo, () =>
      processLocally(createVideoProcessor(config), upload, { config }),
    );
    assert.equal(outcome.status, "rejected");
    const error = (outcome as PromiseRejectedResult).reason as MediaError;
    assert.deepEqual([error.category, error.code], ["processing", "format-refused"]);
    assert.equal(opened, false, "the FIFO named in the playlist was opened");
    assert.deepEqual(httpRequests, [], "the URL named in the playlist was requested");
  });

  test("an ffconcat list posing as mp4 is refused the same way, by ffprobe and by ffmpeg", async () => {
    const fifo = await makeSecretFifo("concat-secret.ts");
    const upload = path.join(dir, "list.mp4");
    // A relative entry: the concat demuxer's default safe=1 refuses absolute paths and URLs, not this.
    await writeFile(upload, `ffconcat version 1.0\nfile concat-secret.ts\n`);
    // Control: the concat demuxer, given the chance, opens the entry.
    const control = await wasOpenedDuring(fifo, () =>
      execFileAsync("ffprobe", ["-v", "error", "-protocol_whitelist", "file,pipe", "-show_format", upload], {
        timeout: 10_000,
      }),
    );
    assert.equal(control.opened, true);

    const probed = await wasOpenedDuring(fifo, () => probeMedia(upload));
    assert.equal((probed.outcome as PromiseRejectedResult).reason?.code, "format-refused");
    const { safeInputArgs } = await import("../../src/media/safe-input.ts");
    const encoded = await wasOpenedDuring(fifo, () =>
      runFfmpeg({ args: [...safeInputArgs(upload), "-f", "null", "-"] }),
    );
    assert.equal((encoded.outcome as PromiseRejectedResult).reason?.code, "format-refused");
    assert.equal(probed.opened || encoded.opened, false);
  });
});

describe("playlists posing as the formats whose demuxers were added to the whitelist", () => {
  // amr, wv, ape, dsf (audio), mpegvideo (raw MPEG-1/2 video) and apng (APNG frames for the image
  // processor) joined the whitelist; none of
  // them may become a way in. Each upload is an HLS playlist naming the FIFO, saved under the
  // extension it poses as (ffprobe's probe looks at the extension too), and one starts with the
  // format's own magic bytes so that type detection sends it to the processor of that format.
  const poses: Array<{ name: string; demuxers: "audio" | "video" | "apng"; prefix?: string }> = [
    { name: "anim.apng", demuxers: "apng" },
    { name: "memo.amr", demuxers: "audio" },
    { name: "album.wv", demuxers: "audio" },
    { name: "album.ape", demuxers: "audio" },
    { name: "hires.dsf", demuxers: "audio" },
    { name: "clip.m2v", demuxers: "video" },
    { name: "magic.amr", demuxers: "audio", prefix: "#!AMR\n" },
    { name: "magic.m2v", demuxers: "video", prefix: "\x00\x00\x01\xb3" },
  ];
  for (const pose of poses) {
    test(`an HLS playlist posing as ${pose.name}${pose.prefix ? " behind the format's magic bytes" : ""} opens nothing it names`, async () => {
      const { ANIMATED_IMAGE_DEMUXERS, AUDIO_DEMUXERS, VIDEO_DEMUXERS } = await import("../../src/media/safe-input.ts");
      const { detectFileType } = await import("../../src/media/detect-type.ts");
      const fifo = await makeSecretFifo(`pose-${pose.name}.ts`);
      const upload = path.join(dir, pose.name);
      await writeFile(
        upload,
        Buffer.concat([
          Buffer.from(pose.prefix ?? "", "latin1"),
          Buffer.from(hlsPlaylist([`file://${fifo}`, "file:///etc/passwd"])),
        ]),
      );
      const detected = await detectFileType(upload);
      assert.equal(detected.kind, pose.prefix ? pose.demuxers : "playlist");
      const demuxers =
        pose.demuxers === "audio"
          ? AUDIO_DEMUXERS
          : pose.demuxers === "apng"
            ? ANIMATED_IMAGE_DEMUXERS
            : VIDEO_DEMUXERS;
      const probed = await wasOpenedDuring(fifo, () => probeMedia(upload, { demuxers }));
      if (pose.prefix) {
        // Read by the format's own demuxer as (garbage) frames of that format, or refused: either way as itself.
        if (probed.outcome.status === "fulfilled")
          assert.ok(["amr", "mpegvideo"].includes((probed.outcome.value as { format: { name: string } }).format.name));
      } else {
        assert.equal((probed.outcome as PromiseRejectedResult).reason?.code, "format-refused");
      }
      assert.equal(probed.opened, false, "the FIFO named in the playlist was opened");
    });
  }
});

describe("cancellation and timeout", () => {
  /** Pids of live processes whose command line mentions `marker`. */
  async function processesMentioning(marker: string): Promise<number[]> {
    const found: number[] = [];
    for (const entry of await readdir("/proc")) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
      if (cmdline.replaceAll("\0", " ").includes(marker)) found.push(Number(entry));
    }
    return found;
  }

  let clip: string;
  before(async () => {
    // Long enough at the production preset that the abort lands mid-encode.
    clip = await generateClip({
      width: 1920,
      height: 1080,
      durationSec: 8,
      fps: 25,
      out: path.join(dir, "long-1080.mp4"),
    });
  });

  for (const reason of ["cancelled", "timeout"] as const) {
    test(`${reason === "cancelled" ? "a cancel" : "the processing timeout"} mid-encode kills ffmpeg at once and leaves nothing outside the work dir`, async () => {
      // processLocally puts its work dir under os.tmpdir(); a private TMPDIR lets the test see every file the run leaves.
      const privateTmp = await mkdtemp(path.join(dir, `tmp-${reason}-`));
      const previousTmp = process.env["TMPDIR"];
      process.env["TMPDIR"] = privateTmp;
      const controller = new AbortController();
      let abortedAt = 0;
      const config = testConfig({ VIDEO_X264_PRESET: "veryfast" });
      try {
        const processor = createVideoProcessor(config);
        const originalProcess = processor.process.bind(processor);
        const run = processLocally(
          {
            ...processor,
            process: (ctx) =>
              originalProcess({
                ...ctx,
                progress: (percent, step) => {
                  ctx.progress(percent, step);
                  if (step === "encode" && percent > 5 && abortedAt === 0) {
                    abortedAt = performance.now();
                    controller.abort(reason);
                  }
                },
              }),
          },
          clip,
          { config, signal: controller.signal },
        );
        await assert.rejects(run, (error: MediaError) =>
          reason === "cancelled"
            ? error.category === "cancelled"
            : error.category === "resource" && error.code === "processing-timeout",
        );
        assert.ok(abortedAt > 0, "the abort fired during encoding");
        assert.ok(performance.now() - abortedAt < 3000, "the job ended within 3 s of the abort");
        assert.deepEqual(await processesMentioning(privateTmp), [], "an ffmpeg process still runs on the job's files");
        // Everything the run wrote is inside the job's work dir, which the pipeline removes.
        const [root, ...others] = await readdir(privateTmp);
        assert.deepEqual(others, []);
        const leftovers = await readdir(path.join(privateTmp, root!), { recursive: true });
        assert.ok(
          leftovers.every(
            (entry) =>
              entry === "work" || entry === "out" || entry.startsWith("work/") || entry.startsWith(`work${path.sep}`),
          ),
          `unexpected files: ${leftovers.join(", ")}`,
        );
        assert.ok(
          leftovers.some((entry) => entry.includes("hls")),
          "the encode had started writing segments",
        );
      } finally {
        if (previousTmp === undefined) delete process.env["TMPDIR"];
        else process.env["TMPDIR"] = previousTmp;
        await rm(privateTmp, { recursive: true, force: true });
      }
    });
  }
});
