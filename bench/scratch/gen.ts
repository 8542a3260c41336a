import sharp from "sharp";
const W = 6000, H = 4000;
const t0 = performance.now();
const svg = `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#1d2b64"/><stop offset="0.5" stop-color="#f8a13f"/><stop offset="1" stop-color="#2c3e50"/></linearGradient></defs><rect width="${W}" height="${H}" fill="url(#g)"/>${Array.from({length: 40}, (_, i) => `<circle cx="${(i*977)%W}" cy="${(i*613)%H}" r="${200 + (i*131)%600}" fill="hsl(${i*37},60%,50%)" fill-opacity="0.5"/>`).join("")}</svg>`;
const base = await sharp(Buffer.from(svg)).raw().toBuffer({ resolveWithObject: true });
console.log("svg", performance.now() - t0);
const noise = await sharp({ create: { width: W, height: H, channels: 3, noise: { type: "gaussian", mean: 128, sigma: 20 } } }).raw().toBuffer();
console.log("noise", performance.now() - t0);
const d = base.data; const ch = base.info.channels;
const out = Buffer.alloc(W*H*3);
for (let i = 0, j = 0; j < out.length; i += ch, j += 3) { for (let c = 0; c < 3; c++) { const v = d[i+c]! + (noise[j+c]! - 128) * 0.6; out[j+c] = v < 0 ? 0 : v > 255 ? 255 : v; } }
console.log("mix", performance.now() - t0);
const jpg = await sharp(out, { raw: { width: W, height: H, channels: 3 } }).blur(0.6).jpeg({ quality: 90 }).toFile("/tmp/benchx/a.jpg");
console.log("jpg", jpg, performance.now() - t0);
