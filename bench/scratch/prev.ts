import sharp from "sharp";
await sharp(process.argv[2]!).resize(800).jpeg().toFile(process.argv[3]!);
await sharp(process.argv[2]!).extract({ left: 3000, top: 2000, width: 600, height: 400 }).png().toFile(process.argv[3]! + ".crop.png");
