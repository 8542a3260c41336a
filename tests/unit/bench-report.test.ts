import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  areaRows,
  areaToMarkdown,
  areaToText,
  formatNumber,
  formatRatio,
  renderMarkdownTable,
  renderTextTable,
  verdicts,
  type AreaReport,
} from "../../bench/lib/report.ts";
import { renderResults } from "../../bench/lib/results-page.ts";
import { benchSettings } from "../../bench/bench-settings.ts";

const area: AreaReport = {
  title: "Images",
  setup: ["6 JPEGs"],
  figures: [
    { label: "pipeline", unit: "images/s", runs: [0.5, 0.6, 0.4], digits: 3 },
    { label: "raw sharp", unit: "images/s", runs: [0.55, 0.62, 0.5], digits: 3 },
  ],
  ratios: [
    { label: "pipeline / raw sharp", runs: [0.91, 0.97, 0.8], target: { min: 0.9, text: "≥ 0.90×" } },
    { label: "pipeline / raw per-variant", runs: [1.2, 1.1, 1.3] },
  ],
  notes: ["download 40 ms"],
};

describe("benchmark report formatting", () => {
  it("numbers have fixed decimals and a dash when missing", () => {
    assert.equal(formatNumber(1.23456, 3), "1.235");
    assert.equal(formatNumber(2), "2.00");
    assert.equal(formatNumber(undefined), "–");
    assert.equal(formatNumber(Number.NaN), "–");
    assert.equal(formatRatio(0.934), "0.93×");
    assert.equal(formatRatio(undefined), "–");
  });

  it("each figure row shows the median, the unit, every run and the spread", () => {
    const rows = areaRows(area);
    assert.deepEqual(rows[0], ["pipeline", "0.500", "images/s", "0.500 / 0.600 / 0.400", "±20 %"]);
  });

  it("a ratio row carries its verdict against the target; one without a target has none", () => {
    const rows = areaRows(area);
    assert.deepEqual(rows[2], ["pipeline / raw sharp", "0.91×", "met (target ≥ 0.90×)", "0.91 / 0.97 / 0.80", "±9 %"]);
    assert.deepEqual(rows[3], ["pipeline / raw per-variant", "1.20×", "", "1.20 / 1.10 / 1.30", "±8 %"]);
    const missed = areaRows({
      ...area,
      ratios: [{ label: "x", runs: [0.5, 0.6, 0.4], target: { min: 0.9, text: "≥ 0.90×" } }],
    });
    assert.equal(missed[2]![2], "MISSED (target ≥ 0.90×)");
  });

  it("a lower-is-better target (a wait) is met at or below its max and missed above it", () => {
    const judged = (runs: number[]) =>
      areaRows({ ...area, ratios: [{ label: "wait / idle", runs, target: { max: 2, text: "≤ 2.0×" } }] })[2]![2];
    assert.equal(judged([1.5, 2, 1.8]), "met (target ≤ 2.0×)");
    assert.equal(judged([2.5, 2.1, 3]), "MISSED (target ≤ 2.0×)");
  });

  it("the text table pads every column to its widest cell", () => {
    const table = renderTextTable(
      ["a", "bb"],
      [
        ["xxx", "y"],
        ["z", "wwww"],
      ],
    );
    assert.equal(table, ["a    bb", "---  ----", "xxx  y", "z    wwww"].join("\n"));
  });

  it("the markdown table has a header separator and escapes pipes in cells", () => {
    const table = renderMarkdownTable(["figure", "value"], [["a | b", "1"]]);
    assert.equal(table, ["| figure | value |", "| --- | --- |", "| a \\| b | 1 |"].join("\n"));
  });

  it("an area renders as a titled text block and as a markdown section with its notes", () => {
    assert.match(areaToText(area), /^== Images\n {3}6 JPEGs\nfigure/);
    const markdown = areaToMarkdown(area);
    assert.match(markdown, /^## Images\n\n- 6 JPEGs\n\n\| figure \|/);
    assert.match(markdown, /\n- download 40 ms\n$/);
  });

  it("only ratios with a target get a verdict, judged on their median", () => {
    assert.deepEqual(verdicts([area]), [
      { area: "Images", label: "pipeline / raw sharp", value: 0.91, target: "≥ 0.90×", met: true },
    ]);
  });

  it("the results page states machine facts, that ratios are the point, and every target's verdict", () => {
    const page = renderResults({
      settings: benchSettings({}),
      machine: {
        cpus: 2,
        cpuModel: "Test CPU",
        memoryGiB: 4,
        kernel: "Linux 6",
        node: "v24.0.0",
        sharp: "0.35.5",
        libvips: "8.18.7",
        ffmpeg: "ffmpeg version 5.1",
        redis: "Redis server v=7.0.15",
        pdfjs: "6.5.438",
        mallocArenaMax: "2 (both sides)",
        loadAverage: "1.00 1.00 1.00",
      },
      loadAtEnd: "2.00 2.00 2.00",
      startedAt: new Date("2026-01-01T00:00:00Z"),
      finishedAt: new Date("2026-01-01T00:10:00Z"),
      reports: [
        {
          ...area,
          ratios: [
            {
              label: "video pipeline / raw one-pass (time ratio)",
              runs: [0.8, 0.9, 0.85],
              target: { min: 0.95, text: "≥ 0.95×" },
            },
          ],
        },
      ],
      failures: [],
    });
    assert.match(page, /\| CPUs \| 2 × Test CPU \|/);
    assert.match(page, /Ratios, not absolutes, are the point/);
    assert.match(
      page,
      /\| Images \| video pipeline \/ raw one-pass \(time ratio\) \| 0\.85× \| ≥ 0\.95× \| \*\*missed\*\* \|/,
    );
    assert.match(page, /- \*\*video pipeline \/ raw one-pass \(time ratio\): 0\.85×, target ≥ 0\.95×\.\*\*/);
    assert.match(page, /\(600 s\)/);
  });
});
