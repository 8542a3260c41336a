import assert from "node:assert/strict";
import { test } from "node:test";
import { toolEnvironment } from "../../src/media/tool-process.ts";

/** The environment runTool gives media tools (src/media/tool-process.ts, through the fence); real children: tests/media/child-fence.test.ts. */

test("media tools get a minimal environment without the worker's credentials", () => {
  const env = toolEnvironment({
    PATH: "/usr/bin",
    HOME: "/tmp",
    AWS_SECRET_ACCESS_KEY: "secret",
    API_TOKEN: "t",
    REDIS_URL: "redis://:pw@h",
  });
  assert.deepEqual(env, { PATH: "/usr/bin", HOME: "/tmp" });
});
