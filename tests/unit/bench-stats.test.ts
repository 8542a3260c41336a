import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  median,
  medianRatio,
  meetsTarget,
  perSecond,
  ratio,
  realtimeFactor,
  relativeSpread,
  speedRatioFromTimes,
} from "../../bench/lib/stats.ts";

describe("benchmark arithmetic", () => {
  it("the median of an odd count is the middle value, whatever the order", () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([10]), 10);
  });

  it("the median of an even count is the mean of the two middle values", () => {
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  it("the median ignores values that are not finite (a run that produced no number)", () => {
    assert.equal(median([Number.NaN, 2, Number.POSITIVE_INFINITY, 4, 6]), 4);
  });

  it("the median of nothing is an error, not a silent zero", () => {
    assert.throws(() => median([]), /no values/);
    assert.throws(() => median([Number.NaN]), /no values/);
  });

  it("the spread is the range over the median", () => {
    assert.equal(relativeSpread([9, 10, 11]), 0.2);
    assert.equal(relativeSpread([0, 0, 0]), 0);
  });

  it("throughput is items per second of wall time", () => {
    assert.equal(perSecond(6, 3000), 2);
    assert.equal(realtimeFactor(30, 15_000), 2);
    assert.throws(() => perSecond(6, 0), /positive/);
  });

  it("a ratio is ours over theirs for throughput, theirs over ours for times", () => {
    assert.equal(ratio(0.9, 1), 0.9);
    assert.equal(speedRatioFromTimes(20_000, 19_000), 0.95);
    assert.throws(() => ratio(1, 0), /non-positive/);
    assert.throws(() => speedRatioFromTimes(0, 1), /positive/);
  });

  it("the median of per-run ratios cancels drift that a ratio of medians keeps", () => {
    // The machine slows down between runs; each run's two sides slow down together.
    const runs = [
      { ours: 9, theirs: 10 },
      { ours: 4.5, theirs: 5 },
      { ours: 1.8, theirs: 2 },
    ];
    assert.equal(medianRatio(runs), 0.9);
    assert.equal(median(runs.map((run) => run.ours)) / median(runs.map((run) => run.theirs)), 0.9);
    const skewed = [
      { ours: 9, theirs: 10 },
      { ours: 4.5, theirs: 5 },
      { ours: 1.8, theirs: 20 },
    ];
    assert.equal(medianRatio(skewed), 0.9);
  });

  it("a target is met at or above its minimum", () => {
    assert.equal(meetsTarget(0.9, 0.9), true);
    assert.equal(meetsTarget(0.8999, 0.9), false);
  });
});
