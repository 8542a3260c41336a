import { spawn } from "node:child_process";
import path from "node:path";
import type { BenchContext } from "../lib/context.ts";
import { measureLadders, ladderTables, type LadderMeasure } from "../lib/quality-ladders.ts";
import { qualityClips, qualityImages } from "../lib/quality-inputs.ts";
import {
  stillChoices,
  stillTables,
  measureStills,
  AVIF_CPU_BUDGET_SEC,
  STILL_TARGETS,
  type Candidate,
  type StillChoice,
} from "../lib/quality-stills.ts";
import type { AreaReport, Figure, RatioFigure, ReportTable } from "../lib/report.ts";

/**
 * Quality per byte (issue 19): what a viewer gets for the bytes and the CPU. Stills of four
 * kinds (photo, graphics with text, screenshot, portrait) through every candidate setting of
 * each variant, scored with SSIMULACRA2 (and SSIM); three 1080p clips (talking head, high
 * motion, animation) through the fixed-bitrate ladder, capped-CRF ladders and the content-aware
 * ladder, every rung scored with ffmpeg's SSIM/PSNR (Debian's ffmpeg has no libvmaf, so no
 * VMAF). Encode cost in CPU seconds (user + sys), which a shared machine disturbs far less than
 * wall time. Each figure is one measurement: bytes and scores are deterministic, CPU seconds
 * vary by a few per cent. Prints the defaults the stated targets pick.
 */
export async function benchQuality(context: BenchContext): Promise<AreaReport> {
  const { settings, stack } = context;
  const ssimulacra2Binary = await installQualityTools(context);
  const [width, height] = settings.quality.imageSize;
  const images = await qualityImages(settings.inputDir, width, height);
  const clips = await qualityClips(settings.inputDir, settings.quality.clipSec);
  const config = stack.config;
  const current = (candidate: Candidate) =>
    candidate.format === "webp"
      ? candidate.quality === config.image.webpQuality
      : candidate.format === "jpeg"
        ? candidate.quality === config.image.jpegQuality &&
          candidate.chromaSubsampling === config.image.jpegChromaSubsampling
        : candidate.quality === config.image.avifQuality && candidate.effort === config.image.avifEffort;

  const stills = await measureStills(context, images, config.image, ssimulacra2Binary);
  const choices = stillChoices(stills, current);
  const ladders = await measureLadders(context, clips, config.video);

  const figures: Figure[] = [
    {
      label: "stills: encode CPU, every candidate of every input",
      unit: "cpu-s",
      runs: [stills.encodeCpuSec],
      digits: 1,
    },
    {
      label: "stills: scoring CPU per comparison (SSIMULACRA2 + SSIM, decode included)",
      unit: "cpu-s",
      runs: [stills.scoringCpuSec / stills.comparisons],
    },
    ...clips.map((clip) => {
      const content = ladders.find((measure) => measure.clip === clip.name && measure.variant.kind === "content")!;
      return {
        label: `${clip.name}: content-aware probe CPU per second of video`,
        unit: "cpu-s",
        runs: [content.probeCpuSec / clip.durationSec],
      };
    }),
  ];
  const ratios: RatioFigure[] = clips.flatMap((clip) => {
    const fixed = ladders.find((measure) => measure.clip === clip.name && measure.variant.kind === "fixed")!;
    const content = ladders.find((measure) => measure.clip === clip.name && measure.variant.kind === "content")!;
    return [
      { label: `${clip.name}: content-aware / fixed ladder bytes`, runs: [content.totalBytes / fixed.totalBytes] },
      { label: `${clip.name}: content-aware / fixed worst-rung SSIM`, runs: [worstSsim(content) / worstSsim(fixed)] },
    ];
  });
  const tables: ReportTable[] = [
    defaultsTable(choices),
    ...stillTables(stills, images, current),
    ...ladderTables(ladders, clips),
  ];
  return {
    title: "Quality per byte",
    setup: [
      `stills: ${images.map((image) => `${image.name} (${image.description})`).join("; ")}; lossless ${width}×${height} PNGs, so the web variant is at the source's size and the reference is exactly what the encoder got`,
      `video: ${clips.map((clip) => clip.name).join(", ")}: ${settings.quality.clipSec} s 720p30 clips generated with ffmpeg (H.264 at a constant 8 Mbit/s, as a phone writes; 720p keeps the area within minutes on 2 cores); ladder ${config.video.rungs.map((rung) => `${rung.height}p ${rung.videoKbps}k`).join(" / ")}, x264 ${config.video.x264Preset}, ${config.video.segmentSeconds} s segments`,
      "metrics: SSIMULACRA2 (ssimulacra2_rs, scripts/install-quality-tools.sh) and ffmpeg SSIM for stills; ffmpeg SSIM and PSNR for video (no VMAF: Debian's ffmpeg is built without libvmaf)",
      "cost: CPU seconds (user + sys) of each encode alone (stills: bench/raw/quality-encode.ts with MALLOC_ARENA_MAX=2, one encode at a time; video: the ffmpeg children), not wall time, which the shared machine disturbs",
      `targets: web variants and thumbnails SSIMULACRA2 ≥ 70, optimized original ≥ ${STILL_TARGETS.optimized}, each on the worst input; AVIF within ${AVIF_CPU_BUDGET_SEC} cpu-s per ${width}×${height} image`,
    ],
    figures,
    ratios,
    tables,
    notes: [],
  };
}

const worstSsim = (measure: LadderMeasure) => Math.min(...measure.rungs.map((rung) => rung.ssim));

function defaultsTable(choices: readonly StillChoice[]): ReportTable {
  const describe = (summary: StillChoice["chosen"]) =>
    summary
      ? `${summary.id}: worst ${summary.minScore.toFixed(1)}, ${(summary.meanBytes / 1024).toFixed(1)} KiB, ${summary.meanCpuSec.toFixed(3)} cpu-s`
      : "none meets it";
  return {
    title:
      "Stills: the default each target picks (fewest bytes whose worst input meets the target, within the CPU budget)",
    header: ["knob", "target (worst input)", "current default", "picked by the target", "bytes picked / current"],
    rows: choices.map((choice) => [
      choice.group,
      `SSIMULACRA2 ≥ ${choice.target}`,
      choice.current ? describe(choice.current) : "–",
      describe(choice.chosen),
      choice.current && choice.chosen ? `${(choice.chosen.meanBytes / choice.current.meanBytes).toFixed(2)}×` : "–",
    ]),
  };
}

/** Runs scripts/install-quality-tools.sh (idempotent) and returns the ssimulacra2_rs path it prints. */
function installQualityTools(context: BenchContext): Promise<string> {
  const script = path.resolve(import.meta.dirname, "../../scripts/install-quality-tools.sh");
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => context.log(chunk.toString().trim()));
    child.once("error", reject);
    child.once("close", (code) => {
      const binary = stdout.trim().split("\n").at(-1) ?? "";
      if (code === 0 && binary) resolve(binary);
      else reject(new Error(`scripts/install-quality-tools.sh exited with ${code}: no ssimulacra2_rs`));
    });
  });
}
