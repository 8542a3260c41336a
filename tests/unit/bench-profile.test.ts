import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benchSettings } from "../../bench/bench-settings.ts";
import { parseStatCpu } from "../../bench/lib/process-cpu.ts";
import { describePerJob, diffCounts, parseCommandStats, totalCount } from "../../bench/lib/redis-stats.ts";
import { describeStepCosts, splitJobTime, stepCosts, timelineGaps } from "../../bench/lib/timeline.ts";

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
const timeline = [
  { at: at(0), event: "received" },
  { at: at(5), event: "downloading" },
  { at: at(45), event: "downloaded" },
  { at: at(50), event: "processing" },
  { at: at(2050), event: "processed" },
  { at: at(2060), event: "manifest-written" },
  { at: at(2064), event: "completed" },
];

describe("where a job's time went (timeline profile)", () => {
  it("each gap between timeline entries is charged to the step that ends it", () => {
    assert.deepEqual(timelineGaps(timeline).slice(0, 2), [
      { step: "received → downloading", ms: 5 },
      { step: "downloading → downloaded", ms: 40 },
    ]);
  });

  it("step costs are means over the jobs that have the step", () => {
    const faster = timeline.map((entry, index) => (index === 2 ? { ...entry, at: at(25) } : entry));
    const costs = stepCosts([
      { createdAt: at(0), timeline },
      { createdAt: at(0), timeline: faster },
    ]);
    assert.deepEqual(
      costs.find((cost) => cost.step === "downloading → downloaded"),
      { step: "downloading → downloaded", meanMs: 30, jobs: 2 },
    );
  });

  it("a job's time splits into the processor's part and the pipeline's part around it", () => {
    assert.deepEqual(splitJobTime(timeline, "processing", "processed"), {
      totalMs: 2064,
      insideMs: 2000,
      outsideMs: 64,
    });
    assert.equal(splitJobTime(timeline, "processing", "never"), undefined);
    assert.equal(splitJobTime([timeline[0]!], "received", "received"), undefined);
  });

  it("the description lists the costly steps, largest first", () => {
    const text = describeStepCosts(stepCosts([{ createdAt: at(0), timeline }]), 5);
    assert.equal(
      text,
      "processing → processed 2000 ms · downloading → downloaded 40 ms · processed → manifest-written 10 ms · received → downloading 5.0 ms · downloaded → processing 5.0 ms",
    );
  });
});

describe("Redis command counts", () => {
  const info = [
    "# Commandstats",
    "cmdstat_evalsha:calls=30,usec=900,usec_per_call=30.00",
    "cmdstat_rpush:calls=60,usec=60",
    "cmdstat_client|setname:calls=2,usec=1",
    "cmdstat_info:calls=4,usec=400",
    "",
  ].join("\r\n");

  it("INFO commandstats parses to calls per command, subcommands included", () => {
    assert.deepEqual(parseCommandStats(info), { evalsha: 30, rpush: 60, "client|setname": 2, info: 4 });
  });

  it("the difference of two snapshots drops unchanged and ignored commands and counts new ones", () => {
    const before = { evalsha: 30, rpush: 60, info: 4 };
    const after = { evalsha: 60, rpush: 120, info: 6, hget: 3 };
    const diff = diffCounts(before, after, ["info"]);
    assert.deepEqual(diff, { evalsha: 30, rpush: 60, hget: 3 });
    assert.equal(totalCount(diff), 93);
    assert.equal(describePerJob(diff, 10), "rpush 6.00 · evalsha 3.00 · hget 0.30");
  });
});

describe("process CPU from /proc/<pid>/stat", () => {
  it("reads utime+stime and cutime+cstime after the command name, even one with spaces and parentheses", () => {
    const fields = [
      "S",
      "1",
      "2",
      "3",
      "0",
      "-1",
      "4194560",
      "100",
      "0",
      "0",
      "0",
      "250",
      "50",
      "1000",
      "200",
      "20",
      "0",
    ];
    const stat = `4242 (node (bench) x) ${fields.join(" ")}`;
    assert.deepEqual(parseStatCpu(stat), { selfSec: 3, waitedChildrenSec: 12 });
  });
});

describe("benchmark settings", () => {
  it("the default run takes at least three runs per figure, every area, the full-size inputs", () => {
    const settings = benchSettings({});
    assert.equal(settings.quick, false);
    assert.equal(settings.runs, 3);
    assert.deepEqual(
      settings.areas,
      ["queue", "images", "audio", "documents", "video", "scaling"],
      "quality and jobstore run on their own",
    );
    assert.deepEqual(settings.images.jpegSize, [6000, 4000]);
    assert.deepEqual(settings.jobstore.sizes, [100_000, 1_000_000]);
    assert.equal(settings.video.durationSec, 30);
  });

  it("BENCH_RUNS below three is raised to three; BENCH_ONLY picks areas and refuses unknown ones", () => {
    assert.equal(benchSettings({ BENCH_RUNS: "1" }).runs, 3);
    assert.equal(benchSettings({ BENCH_RUNS: "5" }).runs, 5);
    assert.deepEqual(benchSettings({ BENCH_ONLY: "video, queue" }).areas, ["video", "queue"]);
    assert.deepEqual(
      benchSettings({ BENCH_ONLY: "quality" }).areas,
      ["quality"],
      "the quality area runs only when asked for",
    );
    assert.throws(() => benchSettings({ BENCH_ONLY: "images,sound" }), /unknown area\(s\) sound/);
  });

  it("BENCH_QUICK makes every input smaller", () => {
    const quick = benchSettings({ BENCH_QUICK: "1" });
    const full = benchSettings({});
    assert.equal(quick.quick, true);
    assert.ok(quick.video.durationSec < full.video.durationSec);
    assert.ok(quick.images.jpegCount < full.images.jpegCount);
    assert.ok(quick.queue.messages < full.queue.messages);
    assert.ok(quick.scaling.layouts.length < full.scaling.layouts.length);
    assert.ok(quick.jobstore.sizes.at(-1)! < full.jobstore.sizes.at(-1)!);
    assert.deepEqual(benchSettings({ BENCH_JOBSTORE_SIZES: "5000, 20000" }).jobstore.sizes, [5000, 20000]);
  });
});
