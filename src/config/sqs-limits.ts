/**
 * SQS refuses a visibility timeout, and total in-flight time, beyond 12 hours. The one place that
 * limit is written: the variables' bounds (config.schema.ts), loadConfig's back-off check, the
 * back-off cap and the visibility heartbeat all read it. No imports, so anything may use it.
 */
export const SQS_MAX_VISIBILITY_SEC = 12 * 3600;
