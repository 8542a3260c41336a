import sharp from "sharp";
const file = process.argv[2]!;
const opt = await sharp(file).png({ compressionLevel: 9, adaptiveFiltering: true, effort: 7 }).toBuffer();
const region = { left: 600, top: 500, width: 400, height: 300 };
const a = await sharp(file).extract(region).resize(800).png().toBuffer();
const b = await sharp(opt).extract(region).resize(800).png().toBuffer();
await sharp({ create: { width: 800, height: 1210, channels: 4, background: "#ffffff" } }).composite([{ input: a, top: 0, left: 0 }, { input: b, top: 610, left: 0 }]).png().toFile("/tmp/benchx/png-compare.png");
const s1 = await sharp(file).raw().toBuffer(); const s2 = await sharp(opt).ensureAlpha().raw().toBuffer();
let sum = 0, max = 0; for (let i = 0; i < s1.length; i++) { const d = Math.abs(s1[i]! - s2[i]!); sum += d; if (d > max) max = d; }
console.log("mean abs diff", (sum / s1.length).toFixed(2), "max", max);
