import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { envExample } from "../../scripts/env-docs.ts";

test(".env.example is generated from the config schema and up to date (run node scripts/env-docs.ts)", async () => {
  const committed = await readFile(new URL("../../.env.example", import.meta.url), "utf8");
  assert.equal(committed, envExample());
  for (const name of ["MEDIA_BUCKET", "PROCESSING_TIMEOUT", "VIDEO_HLS_RUNGS", "AUDIO_FORMATS", "DOCUMENT_THUMB_WIDTH", "API_TOKEN"]) assert.match(committed, new RegExp(`\\b${name}=`));
});
