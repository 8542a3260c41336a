/**
 * Typed errors for the whole worker. Every failure that reaches the job runner is a
 * {@link MediaError}: it carries a stable `code`, a `category` that decides what happens to
 * the SQS message, and whether a retry can help (see src/pipeline/outcome.ts).
 */

export const ERROR_CATEGORIES = ["transient", "processing", "configuration", "resource", "cancelled"] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/**
 * Whether a retry can help, by default, per category. What then happens to the job and its
 * message (retried through the visibility timeout until maxReceiveCount, then the DLQ; or failed
 * and deleted) is decided in one place: src/pipeline/outcome.ts. Configuration errors
 * (AccessDenied, a missing bucket) are retried, so that after the last receive the message waits
 * in the DLQ for a redrive once the setup is fixed.
 */
export const RETRYABLE_BY_DEFAULT: Record<ErrorCategory, boolean> = {
  transient: true,
  processing: false,
  configuration: true,
  resource: false,
  cancelled: false,
};

export interface MediaErrorOptions {
  code: string;
  category: ErrorCategory;
  retryable?: boolean;
  cause?: unknown;
  detail?: Record<string, unknown>;
}

export class MediaError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly retryable: boolean;
  readonly detail: Record<string, unknown> | undefined;

  constructor(message: string, options: MediaErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "MediaError";
    this.code = options.code;
    this.category = options.category;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT[options.category];
    this.detail = options.detail;
  }

  /** The same error with its message rewritten (e.g. temp paths replaced); code, category and cause kept. */
  withMessage(message: string): MediaError {
    if (message === this.message) return this;
    return new MediaError(message, {
      code: this.code,
      category: this.category,
      retryable: this.retryable,
      cause: this.cause,
      ...(this.detail ? { detail: this.detail } : {}),
    });
  }

  /** The shape stored on the job record and returned by the API (no stack, no cause chain). */
  toJobError(): JobErrorInfo {
    return { category: this.category, code: this.code, message: this.message, retryable: this.retryable };
  }
}

export interface JobErrorInfo {
  category: ErrorCategory;
  code: string;
  message: string;
  retryable: boolean;
}

export const processingError = (code: string, message: string, cause?: unknown, detail?: Record<string, unknown>) =>
  new MediaError(message, { code, category: "processing", cause, detail });

export const resourceError = (code: string, message: string, cause?: unknown, retryable = false) =>
  new MediaError(message, { code, category: "resource", cause, retryable });

export const transientError = (code: string, message: string, cause?: unknown) =>
  new MediaError(message, { code, category: "transient", cause });

export const configurationError = (code: string, message: string, cause?: unknown) =>
  new MediaError(message, { code, category: "configuration", cause });

export const cancelledError = (message = "job was cancelled") =>
  new MediaError(message, { code: "cancelled", category: "cancelled" });

/** Why an AbortSignal fired; the runner turns it into the right error. */
export type AbortReason = "cancelled" | "timeout" | "shutdown" | "visibility-limit";

export const abortError = (reason: AbortReason): MediaError => {
  switch (reason) {
    case "cancelled":
      return cancelledError();
    case "timeout":
      return resourceError("processing-timeout", "processing took longer than PROCESSING_TIMEOUT");
    case "visibility-limit":
      return resourceError("visibility-limit", "job would exceed the 12 hour SQS visibility limit");
    case "shutdown":
      return new MediaError("worker is shutting down", { code: "shutdown", category: "transient" });
  }
};

/** Reads the reason our own controllers put on a signal. */
export function abortReasonOf(signal: AbortSignal): AbortReason | undefined {
  const reason: unknown = signal.reason;
  if (reason instanceof MediaError) return undefined;
  if (typeof reason === "string" && ["cancelled", "timeout", "shutdown", "visibility-limit"].includes(reason)) {
    return reason as AbortReason;
  }
  return undefined;
}

/** Throws the matching MediaError if the signal has fired; call between steps. */
export function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw abortError(abortReasonOf(signal) ?? "cancelled");
}

interface AwsLikeError {
  name?: string;
  Code?: string;
  code?: string;
  $fault?: "client" | "server";
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

const AWS_CONFIGURATION_CODES = new Set([
  "AccessDenied",
  "NoSuchBucket",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AuthorizationHeaderMalformed",
  "ExpiredToken",
  "InvalidClientTokenId",
  "InvalidBucketName",
  "MethodNotAllowed",
  "AllAccessDisabled",
  "InvalidToken",
  "KMS.DisabledException",
  "KMS.NotFoundException",
  "AWS.SimpleQueueService.NonExistentQueue",
  "QueueDoesNotExist",
]);
/** The few 4xx answers that a retry can fix; every other 4xx is final (see fromAwsError). */
const AWS_TRANSIENT_CLIENT_CODES = new Set([
  // S3 answers 400 to a connection that went idle or a body that arrived short or corrupted: network trouble.
  "RequestTimeout",
  "IncompleteBody",
  "BadDigest",
  // 409: a conflicting operation on the bucket is in progress.
  "OperationAborted",
]);
const AWS_THROTTLING_CODES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "RequestLimitExceeded",
  "RequestThrottled",
]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
]);

/** Wraps an AWS SDK error (S3 or SQS) into a categorised MediaError. */
export function fromAwsError(error: unknown, operation: string): MediaError {
  if (error instanceof MediaError) return error;
  const aws = (error ?? {}) as AwsLikeError & Error;
  const code = aws.Code ?? aws.name ?? aws.code ?? "UnknownError";
  const status = aws.$metadata?.httpStatusCode;
  const message = `${operation} failed: ${code}${status ? ` (HTTP ${status})` : ""}`;
  if (code === "NoSuchKey" || code === "NotFound" || (status === 404 && operation.startsWith("s3:get"))) {
    return processingError("source-not-found", `${operation}: the object no longer exists`, error);
  }
  if (code === "PreconditionFailed") {
    return processingError("source-changed", `${operation}: the object changed since the event was sent`, error);
  }
  if (AWS_CONFIGURATION_CODES.has(code) || status === 403) {
    return configurationError(`aws-${code}`, message, error);
  }
  if (AWS_THROTTLING_CODES.has(code) || aws.$retryable?.throttling || status === 429) {
    return transientError("aws-throttled", message, error);
  }
  if (aws.$fault === "server" || (status !== undefined && status >= 500) || NETWORK_CODES.has(aws.code ?? "")) {
    return transientError("aws-unavailable", message, error);
  }
  if (status === undefined) return transientError("aws-unreachable", message, error);
  if (AWS_TRANSIENT_CLIENT_CODES.has(code) || status === 408)
    return transientError("aws-request-failed", message, error);
  // Any other 4xx (KeyTooLongError, InvalidArgument, EntityTooLarge, …) says this request is wrong
  // for this object: retrying it MAX_PROCESSING_RETRIES times on the way to the DLQ cannot help.
  if (status >= 400 && status < 500)
    return new MediaError(message, { code: `aws-${code}`, category: "processing", retryable: false, cause: error });
  return configurationError(`aws-${code}`, message, error);
}

/** Node system errors (ENOSPC, EMFILE, …) and everything else unknown. */
export function toMediaError(error: unknown): MediaError {
  if (error instanceof MediaError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT") return resourceError("disk-full", "temp disk is full", error, true);
  if (code === "ENOMEM") return resourceError("out-of-memory", "out of memory", error);
  if (code === "EMFILE" || code === "ENFILE") return resourceError("too-many-files", message, error, true);
  if (code && NETWORK_CODES.has(code)) return transientError("network", message, error);
  if (code === "ERR_STREAM_PREMATURE_CLOSE") return transientError("stream-closed", message, error);
  return new MediaError(message, { code: "internal", category: "transient", cause: error });
}
