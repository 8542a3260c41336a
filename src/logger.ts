import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/**
 * Structured JSON lines. Credentials can reach a log line through an error's request metadata
 * or a config dump, so the paths where they live are redacted at the source.
 */
export function createLogger(
  level: string,
  base: Record<string, unknown> = {},
  destination: "stdout" | "stderr" = "stdout",
): Logger {
  // stderr for commands whose stdout is a document (`demo --json | jq`).
  const stream = destination === "stderr" ? pino.destination({ fd: 2, sync: true }) : undefined;
  const options: LoggerOptions = {
    level,
    base: { service: "media-processor", ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "*.accessKeyId",
        "*.secretAccessKey",
        "*.sessionToken",
        "*.credentials",
        "*.authorization",
        "*.Authorization",
        "*.headers.authorization",
        "*.redisUrl",
        "req.headers.authorization",
      ],
      censor: "[redacted]",
    },
    formatters: { level: (label) => ({ level: label }) },
  };
  return stream ? pino(options, stream) : pino(options);
}

/** A Redis URL with any password replaced, safe to log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}
