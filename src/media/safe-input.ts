import path from "node:path";

/**
 * The input rules every ffmpeg/ffprobe run follows (DESIGN.md, "Safety rules"). An upload is
 * hostile until proven otherwise: an "mp4" that is really an HLS playlist or an ffconcat list
 * makes the tool open whatever files or URLs it names. `-protocol_whitelist file,pipe` stops
 * URLs but not `file:///etc/passwd` entries; naming the demuxers we accept
 * (`-format_whitelist`) refuses the hls and concat demuxers before any entry is opened
 * ("Format not on whitelist"), so nothing but the upload itself is ever read.
 */

/**
 * Demuxers a video upload may be read with (names as in `ffmpeg -demuxers`; libavformat matches
 * each entry against every alias of a demuxer, so `mov` covers `mov,mp4,m4a,3gp,3g2,mj2` and
 * `matroska` covers `matroska,webm`). None of them opens other files: the mov demuxer only
 * follows external data references with `-enable_drefs 1`, which we never pass.
 */
export const VIDEO_DEMUXERS: readonly string[] = [
  "mov",
  "matroska",
  "avi",
  "mpegts",
  "mpeg",
  "mpegvideo",
  "flv",
  "asf",
  "ogg",
];

/**
 * Demuxers an audio upload may be read with (M4A is `mov`, WebM/Matroska audio is `matroska`,
 * RF64/BW64 are `wav`, WMA is `asf`, `wv` is WavPack, `ape` Monkey's Audio, `dsf` DSD). Each
 * reads one self-contained file; `mpegvideo` (raw MPEG-1/2 video, for video) likewise.
 */
export const AUDIO_DEMUXERS: readonly string[] = [
  "mp3",
  "flac",
  "wav",
  "ogg",
  "mov",
  "matroska",
  "aac",
  "aiff",
  "caf",
  "w64",
  "asf",
  "amr",
  "wv",
  "ape",
  "dsf",
];

/** The one demuxer image processing hands to ffmpeg: APNG frames, which the image library does not decode. */
export const ANIMATED_IMAGE_DEMUXERS: readonly string[] = ["apng"];

/** Everything a media upload may be; what type refinement probes with before the kind is known. */
export const MEDIA_DEMUXERS: readonly string[] = [...new Set([...VIDEO_DEMUXERS, ...AUDIO_DEMUXERS])];

/** Playlist-like demuxers: never whitelisted, and refused by name if a probe ever reports one. */
export const PLAYLIST_DEMUXERS: readonly string[] = [
  "hls",
  "concat",
  "webm_dash_manifest",
  "dash",
  "image2",
  "tty",
  "sdp",
  "rtsp",
];

/** Flags that re-open the holes the whitelist closes; the runner refuses any argument list containing them. */
export const FORBIDDEN_FLAG_VALUES: ReadonlyArray<readonly [flag: string, value: string]> = [
  ["-safe", "0"],
  ["-allowed_extensions", "ALL"],
  ["-extension_picky", "0"],
  ["-enable_drefs", "1"],
];

export interface SafeInputOptions {
  /** Demuxers allowed for this input; defaults to {@link MEDIA_DEMUXERS}. */
  demuxers?: readonly string[];
  /**
   * An explicit demuxer, usually the first name of the probed `format_name` (`mov`, `matroska`).
   * It must itself be one of `demuxers`.
   */
  format?: string | undefined;
  /** Input options placed before `-i` (e.g. `["-ss", "12.5"]` for a fast seek). */
  before?: readonly string[];
}

/**
 * The argument run that opens one local input safely:
 * `-protocol_whitelist file,pipe -format_whitelist <list> [-f <format>] [before…] -i file:<abs path>`.
 * The `file:` prefix keeps a path from ever being read as another protocol or an option.
 */
export function safeInputArgs(inputPath: string, options: SafeInputOptions = {}): string[] {
  if (!path.isAbsolute(inputPath)) throw new Error(`media input must be an absolute path, got "${inputPath}"`);
  if (/[\n\r\0]/.test(inputPath)) throw new Error("media input path contains control characters");
  const demuxers = options.demuxers ?? MEDIA_DEMUXERS;
  if (
    demuxers.length === 0 ||
    demuxers.some((name) => !/^[a-z0-9_]+$/.test(name) || PLAYLIST_DEMUXERS.includes(name))
  ) {
    throw new Error(`invalid demuxer whitelist: ${demuxers.join(",")}`);
  }
  const args = ["-protocol_whitelist", "file,pipe", "-format_whitelist", demuxers.join(",")];
  if (options.format !== undefined) {
    if (!demuxers.includes(options.format))
      throw new Error(`demuxer "${options.format}" is not in the whitelist ${demuxers.join(",")}`);
    args.push("-f", options.format);
  }
  args.push(...(options.before ?? []), "-i", `file:${inputPath}`);
  return args;
}

/**
 * The demuxer to name with `-f` for a probed `format_name` (`mov,mp4,m4a,3gp,3g2,mj2` → `mov`),
 * or undefined when the probe reported something outside the whitelist.
 */
export function demuxerForProbedFormat(
  formatName: string,
  demuxers: readonly string[] = MEDIA_DEMUXERS,
): string | undefined {
  const aliases = formatName.split(",").map((alias) => alias.trim());
  return demuxers.find((demuxer) => aliases.includes(demuxer));
}

/**
 * Checks a complete argument list before it is run: no forbidden flag, and every `-i` is a
 * `file:` absolute path preceded (since the previous `-i`) by a `-format_whitelist` and a
 * `file,pipe` protocol whitelist. Returns the problems found (empty when safe).
 */
export function findUnsafeArguments(args: readonly string[]): string[] {
  const problems: string[] = [];
  let sinceLastInput: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!;
    const next = args[index + 1];
    for (const [flag, value] of FORBIDDEN_FLAG_VALUES) {
      if (arg === flag && next === value) problems.push(`forbidden option ${flag} ${value}`);
    }
    if (arg === "-i") {
      if (next === undefined || !next.startsWith("file:/"))
        problems.push(`input "${next ?? ""}" is not a file: absolute path`);
      const whitelistAt = sinceLastInput.lastIndexOf("-format_whitelist");
      const protocolsAt = sinceLastInput.lastIndexOf("-protocol_whitelist");
      if (whitelistAt < 0) problems.push(`input "${next ?? ""}" has no -format_whitelist`);
      if (protocolsAt < 0 || sinceLastInput[protocolsAt + 1] !== "file,pipe")
        problems.push(`input "${next ?? ""}" has no -protocol_whitelist file,pipe`);
      sinceLastInput = [];
      index += 1;
      continue;
    }
    sinceLastInput.push(arg);
  }
  return problems;
}
