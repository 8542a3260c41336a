import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startApiServer, type ApiServer } from "../../src/api-server.ts";
import { loadApiConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/logger.ts";
import { transparentPng } from "../helpers/generate-images.ts";
import { startApiTestStack, TEST_TOKEN, type ApiTestStack } from "./api-harness.ts";

/**
 * docker-compose found it: the API reaches the emulator as http://media-emulator:4566, so its
 * presigned preview URLs named a host no browser can resolve. API_PUBLIC_S3_ENDPOINT names the
 * address browsers use; here `localhost` stands for it, while the API itself uses `127.0.0.1`.
 */
type Outputs = { outputs: Array<{ url: string; preview: string }>; manifest: { url: string } | null };

describe("API_PUBLIC_S3_ENDPOINT", () => {
  let t: ApiTestStack;
  let api: ApiServer;
  let browserEndpoint: string;

  before(async () => {
    t = await startApiTestStack();
    const emulator = new URL(t.stack.envFor().AWS_ENDPOINT_URL!);
    assert.equal(emulator.hostname, "127.0.0.1");
    browserEndpoint = `http://localhost:${emulator.port}`;
    const config = loadApiConfig({
      ...t.stack.envFor(),
      API_PORT: "0",
      API_TOKEN: TEST_TOKEN,
      API_PUBLIC_S3_ENDPOINT: browserEndpoint,
    });
    api = await startApiServer(config, { logger: createLogger("silent", { role: "api" }) });
  });
  after(async () => {
    await api?.stop();
    await t?.stop();
  });

  test("presigned output URLs name the browser's endpoint and load from it; the CSP admits it", async () => {
    const id = await t.stack.uploadAndNotify("tenants/t1/users/u1/media/1700000000-logo.png", await transparentPng());
    await t.stack.waitForJob(id);
    const base = `http://127.0.0.1:${api.port}`;
    const response = await fetch(`${base}/api/media/jobs/${id}/outputs`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    assert.equal(response.status, 200);
    const outputs = (await response.json()) as Outputs;
    const preview = outputs.outputs.find((output) => output.preview === "image");
    assert.ok(preview, "an image preview");
    assert.equal(new URL(preview.url).origin, browserEndpoint);
    assert.equal((await fetch(preview.url)).status, 200, "the URL is signed for the host it names");
    assert.equal(new URL(outputs.manifest!.url).origin, browserEndpoint);
    const page = await fetch(base);
    const imgSrc =
      (page.headers.get("content-security-policy") ?? "")
        .split(";")
        .find((directive) => directive.trim().startsWith("img-src")) ?? "";
    assert.ok(imgSrc.split(/\s+/).includes(browserEndpoint), `img-src admits ${browserEndpoint}: ${imgSrc}`);
  });
});
