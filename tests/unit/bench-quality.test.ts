import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseSetting, paretoFrontier } from "../../bench/lib/quality-choice.ts";
import { withCappedCrf } from "../../bench/lib/quality-ladders.ts";

test("the frontier keeps only the settings no other beats on both cost and score", () => {
  const frontier = paretoFrontier([
    { id: "q60", cost: 100, score: 60 },
    { id: "q70", cost: 150, score: 72 },
    { id: "slow-q70", cost: 160, score: 71 },
    { id: "q80", cost: 220, score: 80 },
    { id: "same-as-q80", cost: 220, score: 80 },
  ]);
  assert.deepEqual([...frontier].sort(), ["q60", "q70", "q80", "same-as-q80"]);
});

test("a target picks the fewest bytes among the settings whose worst input meets it, within the CPU budget", () => {
  const settings = [
    { id: "e2 q50", group: "avif", minScore: 66, meanBytes: 90, meanCpuSec: 0.3 },
    { id: "e2 q60", group: "avif", minScore: 72, meanBytes: 130, meanCpuSec: 0.35 },
    { id: "e6 q50", group: "avif", minScore: 71, meanBytes: 100, meanCpuSec: 3 },
    { id: "webp q80", group: "webp", minScore: 75, meanBytes: 80, meanCpuSec: 0.1 },
  ];
  assert.equal(chooseSetting(settings, "avif", 70)?.id, "e6 q50");
  assert.equal(chooseSetting(settings, "avif", 70, 1)?.id, "e2 q60");
  assert.equal(chooseSetting(settings, "avif", 90), undefined);
});

test("capped CRF replaces each rung's target bitrate and keeps its maxrate and buffer", () => {
  const args = [
    "-x",
    "-b:v:0",
    "1400k",
    "-maxrate:v:0",
    "1680k",
    "-bufsize:v:0",
    "2800k",
    "-b:a:0",
    "96k",
    "-b:v:1",
    "2800k",
    "-y",
    "out",
  ];
  assert.deepEqual(withCappedCrf(args, 23), [
    "-x",
    "-crf:v:0",
    "23",
    "-maxrate:v:0",
    "1680k",
    "-bufsize:v:0",
    "2800k",
    "-b:a:0",
    "96k",
    "-crf:v:1",
    "23",
    "-y",
    "out",
  ]);
});
