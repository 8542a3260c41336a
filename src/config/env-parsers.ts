import { createHash } from "node:crypto";
import { z } from "zod";

/** Parsers of the variables whose values are lists or records; each lists what it accepts in its error. */

export const intList = (fallback: number[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const parts = value.split(",").map((part) => Number(part.trim()));
      if (parts.some((part) => !Number.isInteger(part) || part <= 0 || part > 16384)) {
        ctx.addIssue({
          code: "custom",
          message: `expected a comma-separated list of positive integers, got "${value}"`,
        });
        return z.NEVER;
      }
      return parts;
    });

export const stringList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  );

export type AudioFormat = "mp3" | "aac" | "ogg";
const AUDIO_FORMATS: readonly string[] = ["mp3", "aac", "ogg"] satisfies AudioFormat[];

/** Comma-separated audio transcode targets, each from the supported set, no duplicates. */
export const audioFormatList = (fallback: AudioFormat[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      if (value.trim().toLowerCase() === "none") return [];
      const parts = value
        .split(",")
        .map((part) => part.trim().toLowerCase())
        .filter(Boolean);
      const unknown = parts.filter((part) => !AUDIO_FORMATS.includes(part));
      if (unknown.length > 0 || new Set(parts).size !== parts.length) {
        ctx.addIssue({
          code: "custom",
          message: `expected a comma-separated list of mp3, aac, ogg without repeats (or "none"), got "${value}"`,
        });
        return z.NEVER;
      }
      return parts as AudioFormat[];
    });

/** `#RRGGBB` or `#RRGGBBAA` (the `#` is optional). */
export const hexColor = (fallback: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const normalised = value.trim().replace(/^#/, "").toUpperCase();
      if (!/^([0-9A-F]{6}|[0-9A-F]{8})$/.test(normalised)) {
        ctx.addIssue({ code: "custom", message: `expected a colour as #RRGGBB or #RRGGBBAA, got "${value}"` });
        return z.NEVER;
      }
      return `#${normalised}`;
    });

/** One HLS rung: `height:videoBitrate:audioBitrate`, bitrates in kbit/s with an optional `k`/`M` suffix. */
export interface HlsRungSpec {
  height: number;
  videoKbps: number;
  audioKbps: number;
}

const parseKbps = (raw: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (match[2]?.toLowerCase() === "m" ? 1000 : 1);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : undefined;
};

/** `480:1400k:96k,720:2800k:128k,…`: heights strictly increasing, bitrates positive. */
export const hlsRungList = (fallback: HlsRungSpec[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return fallback;
      const rungs: HlsRungSpec[] = [];
      for (const part of value
        .split(",")
        .map((entry) => entry.trim())
        .filter(Boolean)) {
        const [height, video, audio] = part.split(":");
        const rung = { height: Number(height), videoKbps: parseKbps(video ?? ""), audioKbps: parseKbps(audio ?? "") };
        if (
          !Number.isInteger(rung.height) ||
          rung.height < 64 ||
          rung.height > 4320 ||
          rung.videoKbps === undefined ||
          rung.audioKbps === undefined ||
          rung.videoKbps > 200_000 ||
          rung.audioKbps > 512
        ) {
          ctx.addIssue({
            code: "custom",
            message: `expected height:videoBitrate:audioBitrate (e.g. 720:2800k:128k), got "${part}"`,
          });
          return z.NEVER;
        }
        rungs.push({ height: rung.height, videoKbps: rung.videoKbps, audioKbps: rung.audioKbps });
      }
      if (rungs.length === 0 || rungs.some((rung, index) => index > 0 && rung.height <= rungs[index - 1]!.height)) {
        ctx.addIssue({
          code: "custom",
          message: `expected at least one rung, heights strictly increasing, got "${value}"`,
        });
        return z.NEVER;
      }
      return rungs;
    });

/** One scoped API token (API_TOKENS); `sha256` is the hex digest of the token itself. */
export interface ApiTokenSpec {
  id: string;
  scope: "read" | "operate" | "admin";
  tenant: string | undefined;
  sha256: string;
}

/** `id:scope[@tenant]:token` entries; ids and tenants without `:` `,` `@`, tokens of 16+ printable characters or `sha256=<64 hex>`. */
export const apiTokenList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const specs: ApiTokenSpec[] = [];
    for (const raw of (value ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)) {
      const match = /^([A-Za-z0-9._-]{1,64}):(read|operate|admin)(?:@([^:,@\s]{1,256}))?:([\x21-\x7e]+)$/.exec(raw);
      const secret = match?.[4] ?? "";
      const hashed = /^sha256=([0-9a-f]{64})$/i.exec(secret);
      if (!match || (!hashed && (secret.length < 16 || secret.includes(",")))) {
        ctx.addIssue({
          code: "custom",
          message: `expected id:scope[@tenant]:token (scope read/operate/admin, token at least 16 characters or sha256=<hex>), got an entry with id "${raw.split(":")[0] ?? ""}"`,
        });
        return z.NEVER;
      }
      if (specs.some((spec) => spec.id === match[1])) {
        ctx.addIssue({ code: "custom", message: `token id "${match[1]}" appears twice` });
        return z.NEVER;
      }
      specs.push({
        id: match[1]!,
        scope: match[2] as ApiTokenSpec["scope"],
        tenant: match[3],
        sha256: hashed ? hashed[1]!.toLowerCase() : createHash("sha256").update(secret).digest("hex"),
      });
    }
    return specs;
  });

/** One webhook receiver (WEBHOOK_ENDPOINTS); its URL is checked against the SSRF rules by loadApiConfig. */
export interface WebhookEndpointSpec {
  id: string;
  url: string;
  secrets: string[];
  tenant?: string | undefined;
  events?: string[] | undefined;
}

export const webhookEndpointList = z
  .string()
  .optional()
  .transform((value, ctx): WebhookEndpointSpec[] => {
    if (!value || value.trim() === "") return [];
    let raw: unknown;
    try {
      raw = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: "custom", message: "expected a JSON array of {id, url, secrets[, tenant, events]}" });
      return z.NEVER;
    }
    const parsed = z
      .array(
        z
          .object({
            id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
            url: z.string().url(),
            secrets: z.array(z.string().min(16)).min(1).max(2),
            tenant: z.string().min(1).max(256).optional(),
            events: z
              .array(z.enum(["media.job.completed", "media.job.failed", "media.job.cancelled"]))
              .min(1)
              .optional(),
          })
          .strict(),
      )
      .safeParse(raw);
    if (!parsed.success) {
      // Never echo the value: it holds secrets.
      ctx.addIssue({
        code: "custom",
        message: `invalid: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
      });
      return z.NEVER;
    }
    const ids = parsed.data.map((endpoint) => endpoint.id);
    if (new Set(ids).size !== ids.length) {
      ctx.addIssue({ code: "custom", message: "endpoint ids must be unique" });
      return z.NEVER;
    }
    return parsed.data;
  });

/**
 * DELIVERY_SIGNING_KEYS: one key, or two during a rotation (the first signs, both verify). 32
 * characters at least: an HMAC key shorter than its 256-bit output only weakens it, and
 * `openssl rand -base64 32` gives 44.
 */
export const deliverySigningKeys = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const keys = (value ?? "")
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean);
    // Never echo the value: it holds secrets.
    if (keys.length > 2)
      ctx.addIssue({
        code: "custom",
        message: `expected one key, or two while rotating (the new one first), got ${keys.length}`,
      });
    else if (keys.some((key) => key.length < 32))
      ctx.addIssue({
        code: "custom",
        message: "expected keys of at least 32 characters (e.g. openssl rand -base64 32)",
      });
    else if (new Set(keys).size !== keys.length) ctx.addIssue({ code: "custom", message: "the two keys are the same" });
    else return keys;
    return z.NEVER;
  });

/**
 * The media kinds a lane can name: the MediaKind values of src/media/detected-media.ts, repeated
 * here because config imports nothing of ours (src/lanes/lanes.ts checks the two agree at compile time).
 */
export const LANE_MEDIA_KINDS = ["image", "video", "audio", "document", "playlist", "unknown"] as const;
export type LaneMediaKind = (typeof LANE_MEDIA_KINDS)[number];

/** A lane's name: short, safe as a metric label and in a Redis key. */
const LANE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface LaneDefinition {
  name: string;
  kinds: LaneMediaKind[];
}

/** `name=value;name=value`, each name a lane name, no repeats; empty or unset: none. */
function laneEntries(
  value: string | undefined,
  ctx: z.RefinementCtx,
  what: string,
): Array<[string, string]> | undefined {
  if (value === undefined || value.trim() === "") return [];
  const entries: Array<[string, string]> = [];
  for (const part of value.split(";").map((item) => item.trim())) {
    if (part === "") continue;
    const equals = part.indexOf("=");
    const name = equals === -1 ? part : part.slice(0, equals).trim();
    if (equals === -1 || !LANE_NAME.test(name) || entries.some(([seen]) => seen === name)) {
      ctx.addIssue({
        code: "custom",
        message: `expected ${what} as lane=value separated by ";" (lane names: lower-case letters, digits, "-"; no repeats), got "${part}"`,
      });
      return undefined;
    }
    entries.push([name, part.slice(equals + 1).trim()]);
  }
  return entries;
}

/** MEDIA_LANES: `quick=image,document,audio;video=video`; each kind in at most one lane. */
export const laneDefinitions = z
  .string()
  .optional()
  .transform((value, ctx): LaneDefinition[] => {
    const entries = laneEntries(value, ctx, "lanes");
    if (!entries) return z.NEVER;
    const taken = new Set<string>();
    const lanes: LaneDefinition[] = [];
    for (const [name, list] of entries) {
      const kinds = list
        .split(",")
        .map((kind) => kind.trim())
        .filter(Boolean);
      const bad = kinds.filter((kind) => !(LANE_MEDIA_KINDS as readonly string[]).includes(kind) || taken.has(kind));
      if (bad.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `lane "${name}": unknown or repeated media kinds ${bad.join(", ")} (kinds: ${LANE_MEDIA_KINDS.join(", ")}, each in one lane)`,
        });
        return z.NEVER;
      }
      for (const kind of kinds) taken.add(kind);
      lanes.push({ name, kinds: kinds as LaneMediaKind[] });
    }
    return lanes;
  });

/** MEDIA_LANE_QUEUE_URLS: `quick=<url>;video=<url>`, each value an http(s) URL. */
export const laneUrlMap = z
  .string()
  .optional()
  .transform((value, ctx): Record<string, string> => {
    const map: Record<string, string> = {};
    const entries = laneEntries(value, ctx, "lane queue URLs");
    if (!entries) return z.NEVER;
    for (const [name, url] of entries) {
      if (!/^https?:\/\/\S+$/.test(url)) {
        ctx.addIssue({ code: "custom", message: `lane "${name}": expected an http(s) queue URL, got "${url}"` });
        return z.NEVER;
      }
      map[name] = url;
    }
    return map;
  });

/** A `lane=number;…` map (`quick=4;video=1`), each a whole number in [min, max]. */
function laneIntMapBetween(min: number, max: number, what: string) {
  return z
    .string()
    .optional()
    .transform((value, ctx): Record<string, number> => {
      const map: Record<string, number> = {};
      const entries = laneEntries(value, ctx, what);
      if (!entries) return z.NEVER;
      for (const [name, text] of entries) {
        const number = Number(text);
        if (!Number.isInteger(number) || number < min || number > max) {
          ctx.addIssue({
            code: "custom",
            message: `lane "${name}": expected a whole number ${min}-${max}, got "${text}"`,
          });
          return z.NEVER;
        }
        map[name] = number;
      }
      return map;
    });
}

/** MEDIA_LANE_CONCURRENCY: `quick=4;video=1`, each a whole number 1-64. */
export const laneIntMap = laneIntMapBetween(1, 64, "lane concurrencies");

/** FAIR_SHARE_LOOKAHEAD: `quick=8;video=0`, each a whole number 0-100. */
export const laneLookaheadMap = laneIntMapBetween(0, 100, "lane look-aheads");

/** FAIR_SHARE_NEWCOMER_SLOTS: `quick=1;video=0`, each a whole number 0-8. */
export const laneNewcomerSlotsMap = laneIntMapBetween(0, 8, "lane newcomer slots");
