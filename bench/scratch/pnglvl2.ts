import sharp from "sharp";
const file = process.argv[2]!;
for (const opts of [{ compressionLevel: 9, adaptiveFiltering: true, effort: 7 }, { compressionLevel: 9, adaptiveFiltering: true }, { compressionLevel: 9, adaptiveFiltering: true, palette: false, effort: 7 }, { compressionLevel: 6 }] as const) {
  const c0 = process.cpuUsage(); const { data, info } = await sharp(file).png(opts as sharp.PngOptions).toBuffer({ resolveWithObject: true }); const c = process.cpuUsage(c0);
  const meta = await sharp(data).metadata();
  console.log(JSON.stringify(opts), `${((c.user + c.system) / 1e6).toFixed(2)} cpu-s, ${(data.length / 1e6).toFixed(2)} MB, palette=${meta.isPalette} bitsPerSample=${meta.bitsPerSample ?? ""} channels=${info.channels}`);
}
