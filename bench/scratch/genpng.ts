import sharp from "sharp";
const W = 4000, H = 3000;
const t0 = performance.now();
const svg = `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><defs><radialGradient id="g"><stop offset="0" stop-color="#e74c3c" stop-opacity="1"/><stop offset="0.7" stop-color="#8e44ad" stop-opacity="0.6"/><stop offset="1" stop-color="#2980b9" stop-opacity="0"/></radialGradient></defs><rect width="${W}" height="${H}" fill="url(#g)"/>${Array.from({length: 30}, (_, i) => `<rect x="${(i*577)%W}" y="${(i*313)%H}" width="${150 + (i*71)%500}" height="${150 + (i*53)%400}" fill="hsl(${i*41},70%,50%)" fill-opacity="0.8"/>`).join("")}</svg>`;
const base = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
const noise = await sharp({ create: { width: W, height: H, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 3 } } }).raw().toBuffer();
const d = base.data;
for (let i = 0, j = 0; j < noise.length; i += 4, j += 3) { for (let c = 0; c < 3; c++) { const v = d[i+c]! + (noise[j+c]! - 128); d[i+c] = v < 0 ? 0 : v > 255 ? 255 : v; } }
const png = await sharp(d, { raw: { width: W, height: H, channels: 4 } }).png({ compressionLevel: 6, adaptiveFiltering: true }).toFile("/tmp/benchx/b.png");
console.log("png", png, performance.now() - t0);
