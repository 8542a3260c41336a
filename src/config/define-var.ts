import { z } from "zod";
import { parseDurationMs } from "./duration.ts";

/**
 * One declaration per environment variable: its parser (type, range, unit, default) and how it is
 * documented. The zod schemas, ENV_DOCS, the typed values loadConfig maps, `.env.example` and the
 * README table are all derived from these (src/config/variables.ts), so a variable is written once.
 */

/** What a variable is about; the README table is grouped by it. */
export type VarGroup =
  | "aws"
  | "storage"
  | "queue"
  | "lanes"
  | "redis"
  | "job-events"
  | "jobs"
  | "video"
  | "image"
  | "quality"
  | "audio"
  | "document"
  | "worker"
  | "api"
  | "delivery"
  | "webhooks"
  | "emulator";

/** A string from the environment (or nothing) in, a typed value out. */
type EnvParser = z.ZodType<unknown, string | undefined>;

export interface VarSpec<S extends EnvParser = EnvParser> {
  group: VarGroup;
  /** One line of what it does, for .env.example and the README. */
  doc: string;
  schema: S;
  /** The default as an operator would write it (`15m`, `true`, `9464`); undefined: required, or see defaultText. */
  default: string | undefined;
  /** The default in words when it is not one value (`a third of SQS_VISIBILITY_TIMEOUT`, `<hostname>-<pid>`). */
  defaultText?: string;
  /** The unit of a bare number (`ms`, `s`, `px`, `kbit/s`, `bytes`); undefined when it has none. */
  unit: string | undefined;
  /** Must be set: no default, and loading fails without it. */
  required?: true;
  /** A duration: besides a bare number in `unit` it takes `500ms`, `30s`, `5m`, `2h`, `7d`. */
  duration?: true;
  /** A value to show uncommented in .env.example (the variables a first run must set). */
  example?: string;
}

/** What a kind gives; the declaration adds group and doc. */
type Kind<S extends EnvParser> = Pick<
  VarSpec<S>,
  "schema" | "default" | "unit" | "defaultText" | "duration" | "required"
>;

/**
 * Declares one variable: its kind plus group and doc, and where one helps an example for
 * .env.example or the default in words (a value derived from other variables or the host).
 */
export function defineVar<S extends EnvParser>(
  group: VarGroup,
  kind: Kind<S>,
  doc: string,
  extra: { example?: string; defaultText?: string } = {},
): VarSpec<S> {
  const defaultText = extra.defaultText ?? kind.defaultText;
  return {
    group,
    doc,
    schema: kind.schema,
    default: defaultText === undefined ? kind.default : undefined,
    unit: kind.unit,
    ...(defaultText === undefined ? {} : { defaultText }),
    ...(kind.duration ? { duration: true as const } : {}),
    ...(kind.required ? { required: true as const } : {}),
    ...(extra.example ? { example: extra.example } : {}),
  };
}

const TRUE = ["1", "true", "yes", "on"];
const FALSE = ["0", "false", "no", "off"];

export const bool = (fallback: boolean): Kind<z.ZodType<boolean, string | undefined>> => ({
  schema: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallback;
      const normalised = value.trim().toLowerCase();
      if (TRUE.includes(normalised)) return true;
      if (FALSE.includes(normalised)) return false;
      ctx.addIssue({ code: "custom", message: `expected true/false, got "${value}"` });
      return z.NEVER;
    }),
  default: String(fallback),
  unit: undefined,
});

/** A boolean whose default depends on other variables, so it stays the raw string until loadConfig decides. */
export const derivedBool = (wordedDefault: string): Kind<z.ZodType<boolean | undefined, string | undefined>> => ({
  schema: z
    .string()
    .optional()
    .transform((value) => (value === undefined || value === "" ? undefined : TRUE.includes(value.toLowerCase()))),
  default: undefined,
  defaultText: wordedDefault,
  unit: undefined,
});

export const int = (
  fallback: number,
  min: number,
  max: number,
  unit?: string,
): Kind<z.ZodType<number, string | undefined>> => ({
  schema: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === "") return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({ code: "custom", message: `expected an integer from ${min} to ${max}, got "${value}"` });
        return z.NEVER;
      }
      return parsed;
    }),
  default: String(fallback),
  unit,
});

/**
 * A duration in milliseconds. A bare number is read in `bareUnit` (the seed's meaning, kept);
 * `500ms`, `30s`, `5m`, `2h`, `7d` say their unit. The default and the bounds are written the same way.
 */
export const duration = (
  fallback: string,
  bareUnit: "ms" | "s",
  min: string,
  max: string,
): Kind<z.ZodType<number, string | undefined>> => {
  const fallbackMs = mustParse(fallback, bareUnit);
  const minMs = mustParse(min, bareUnit);
  const maxMs = mustParse(max, bareUnit);
  return {
    schema: z
      .string()
      .optional()
      .transform((value, ctx) => {
        if (value === undefined || value === "") return fallbackMs;
        const parsed = parseDurationMs(value, bareUnit);
        if (parsed === undefined || parsed < minMs || parsed > maxMs) {
          ctx.addIssue({
            code: "custom",
            message: `expected a duration (bare number in ${bareUnit}, or 30s/5m/2h) from ${minMs / 1000}s to ${maxMs / 1000}s, got "${value}"`,
          });
          return z.NEVER;
        }
        return parsed;
      }),
    default: fallback,
    unit: bareUnit,
    duration: true,
  };
};

function mustParse(raw: string, bareUnit: "ms" | "s"): number {
  const ms = parseDurationMs(raw, bareUnit);
  if (ms === undefined) throw new Error(`not a duration: ${raw}`);
  return ms;
}

export const string = (fallback: string): Kind<z.ZodType<string, string | undefined>> => ({
  schema: z.string().default(fallback),
  default: fallback,
  unit: undefined,
});

export const enumOf = <const T extends readonly [string, ...string[]]>(
  values: T,
  fallback: T[number],
): Kind<z.ZodType<T[number], string | undefined>> => ({
  schema: z.enum(values).default(fallback),
  default: fallback,
  unit: undefined,
});

/** An optional string; blank is unset. */
export const optionalString = (wordedDefault?: string): Kind<z.ZodType<string | undefined, string | undefined>> => ({
  schema: z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined)),
  default: undefined,
  ...(wordedDefault === undefined ? {} : { defaultText: wordedDefault }),
  unit: undefined,
});

export const optionalUrl = (wordedDefault?: string): Kind<z.ZodType<string | undefined, string | undefined>> => ({
  schema: z
    .string()
    .optional()
    .transform((value) => (value && value.trim() !== "" ? value.trim() : undefined))
    .pipe(z.string().url().optional()),
  default: undefined,
  ...(wordedDefault === undefined ? {} : { defaultText: wordedDefault }),
  unit: undefined,
});

export const requiredUrl = (message: string): Kind<z.ZodType<string, string | undefined>> => ({
  schema: z.string({ error: message }).trim().url({ message }),
  default: undefined,
  unit: undefined,
  required: true,
});

/** A string that must be set, at least `min` characters. */
export const requiredString = (message: string, min: number): Kind<z.ZodType<string, string | undefined>> => ({
  schema: z.string({ error: message }).min(min),
  default: undefined,
  unit: undefined,
  required: true,
});

/** Any other parser (lists, colours, tokens…): the declaration names its default and unit itself. */
export const custom = <S extends EnvParser>(schema: S, fallback: string | undefined, unit?: string): Kind<S> => ({
  schema,
  default: fallback,
  unit,
});

type Declarations = Record<string, VarSpec>;

/** The zod object of a set of declarations, typed per variable. */
export function schemaOf<D extends Declarations>(vars: D): z.ZodObject<{ [K in keyof D]: D[K]["schema"] }> {
  const shape = Object.fromEntries(Object.entries(vars).map(([name, spec]) => [name, spec.schema]));
  return z.object(shape) as unknown as z.ZodObject<{ [K in keyof D]: D[K]["schema"] }>;
}

/** The one-line docs of a set of declarations, by name. */
export function docsOf<D extends Declarations>(vars: D): Record<keyof D, string> {
  return Object.fromEntries(Object.entries(vars).map(([name, spec]) => [name, spec.doc])) as Record<keyof D, string>;
}
