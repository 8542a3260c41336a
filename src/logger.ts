import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON lines. Credentials can reach a log line through an error's request metadata
 * or a config dump, so the paths where they live are redacted at the source.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
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
  });
}

/** A Redis URL with any password replaced, safe to log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    if (parsed.username && parsed.password) parsed.username = parsed.username;
    return parsed.toString();
  } catch {
    return "[unparseable url]";
  }
}
