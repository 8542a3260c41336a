import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { envExample, ROWS, TABLE_END, TABLE_START, withTable } from "../../scripts/env-docs.ts";
import type { VarSpec } from "../../src/config/define-var.ts";

test(".env.example is generated from the config schema and up to date (run node scripts/env-docs.ts)", async () => {
  const committed = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
  assert.equal(committed, envExample());
  for (const name of [
    "MEDIA_BUCKET",
    "PROCESSING_TIMEOUT",
    "VIDEO_HLS_RUNGS",
    "AUDIO_FORMATS",
    "DOCUMENT_THUMB_WIDTH",
    "API_TOKEN",
  ])
    assert.match(committed, new RegExp(`\\b${name}=`));
});

test("the README's configuration table is generated from the declarations and up to date (run node scripts/env-docs.ts)", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  assert.ok(readme.includes(TABLE_START) && readme.includes(TABLE_END), "the README keeps the table's markers");
  assert.equal(readme, withTable(readme));
});

/** What a reader must find for a variable: its default (or that it is required) and the unit of a bare number. */
const expectedDefault = (spec: VarSpec) => spec.defaultText ?? spec.default ?? (spec.required ? "required" : "unset");

test("every declared variable is in .env.example with its default and unit", async () => {
  const committed = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
  const blocks = new Map(
    committed.split("\n\n").map((block) => [/^#? ?([A-Z0-9_]+)=/m.exec(block)?.[1], block] as const),
  );
  assert.ok(ROWS.length > 100, "the worker's, the API's and the emulator's variables");
  for (const { name, spec } of ROWS) {
    const block = blocks.get(name);
    assert.ok(block, `${name} in .env.example`);
    assert.ok(
      block.includes(spec.required ? "# Required." : `# Default: ${expectedDefault(spec)}.`),
      `${name}: default`,
    );
    if (spec.unit) assert.ok(block.includes(`Unit: ${spec.unit}`), `${name}: unit ${spec.unit}`);
    // A literal default is the value of the commented line, so uncommenting it changes nothing.
    if (spec.default !== undefined && spec.example === undefined)
      assert.ok(
        block.includes(`# ${name}=${spec.default}\n`) || block.endsWith(`# ${name}=${spec.default}`),
        `${name}=${spec.default}`,
      );
  }
});

test("every declared variable has a README row with its default and unit", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const rows = new Map(
    readme
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => line.split(/(?<!\\)\|/).map((cell) => cell.trim()))
      .map((cells) => [cells[1]!.replace(/`/g, ""), cells] as const),
  );
  for (const { name, spec } of ROWS) {
    const cells = rows.get(name);
    assert.ok(cells, `${name} in the README table`);
    assert.equal(cells[3]!.replace(/`/g, "").replace(/\\\|/g, "|"), expectedDefault(spec), `${name}: default`);
    assert.ok(cells[4]!.startsWith(spec.unit ?? ""), `${name}: unit`);
    if (spec.duration) assert.match(cells[4]!, /5m/, `${name}: says it takes a unit`);
  }
});

test("the default a declaration documents is the value its parser uses when the variable is unset", () => {
  for (const { name, spec } of ROWS) {
    if (spec.default === undefined) continue;
    const unset = spec.schema.safeParse(undefined);
    const documented = spec.schema.safeParse(spec.default);
    assert.ok(unset.success && documented.success, name);
    assert.deepEqual(documented.data, unset.data, `${name}: "${spec.default}" is the default`);
  }
});
