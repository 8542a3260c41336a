import { writeFile } from "node:fs/promises";
import { loadConfig } from "../../src/config/config.ts";
const config = loadConfig({ MEDIA_BUCKET: "media-uploads", MEDIA_PROCESSING_QUEUE_URL: "http://127.0.0.1:1/q", REDIS_URL: "redis://127.0.0.1:1" });
const [mode, conc, ...files] = process.argv.slice(2);
await writeFile("/tmp/benchx/req.json", JSON.stringify({ files, outDir: "/tmp/benchx/out", concurrency: Number(conc), mode, image: config.image }));
