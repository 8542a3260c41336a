import sharp from "sharp";
const file = process.argv[2]!;
for (const [lvl, adaptive] of [[9, true], [9, false], [6, true], [6, false], [4, true]] as const) {
  const c0 = process.cpuUsage(); const out = await sharp(file).png({ compressionLevel: lvl, adaptiveFiltering: adaptive, effort: 7 }).toBuffer(); const c = process.cpuUsage(c0);
  console.log(`level ${lvl} adaptive ${adaptive}: ${((c.user + c.system) / 1e6).toFixed(2)} cpu-s, ${(out.length / 1e6).toFixed(2)} MB`);
}
