import { ERROR_CATEGORIES } from "../errors.ts";
import { JOB_STATUSES } from "../jobs/job.model.ts";
import { CURSOR_PATTERN, JOB_ID_PATTERN, LIST_LIMIT, REDRIVE_MAX_MESSAGES, STATS_WINDOW_MINUTES, TYPE_PATTERN } from "./validation.ts";

/**
 * The OpenAPI 3.1 contract of the API, served at /api/openapi.json. Written by hand next to the
 * zod schemas whose limits it imports; tests/api check every response the tests receive against
 * it, and scripts/check-api-fuzz.sh runs schemathesis against it.
 */

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ "application/json": { schema } });
const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: ref("Problem") } } });

/** Responses every /api operation can give. */
const API_ERRORS = {
  "401": problem("Missing or invalid bearer token."),
  "503": problem("Redis or SQS did not answer; try again (Retry-After)."),
};
const BAD_REQUEST = { "400": problem("A parameter or the body is invalid; `errors` names each field.") };
const NOT_FOUND = { "404": problem("No job with this id (or it expired after JOB_STATUS_TTL).") };
const BODY_ERRORS = {
  "413": problem("The body is larger than API_BODY_LIMIT_BYTES."),
  "415": problem("The body is not JSON."),
};

/** OpenAPI links from a response naming a job to what can be done with it (stateful fuzzing follows them). */
function jobLinks(idExpression: string) {
  return Object.fromEntries(
    ["getJob", "jobOutputs", "cancelJob", "retryJob"].map((operationId) => [operationId, { operationId, parameters: { id: idExpression } }]),
  );
}

const EXAMPLE_EVENT = {
  Records: [
    {
      eventVersion: "2.1",
      eventSource: "aws:s3",
      eventName: "ObjectCreated:Put",
      s3: {
        bucket: { name: "media-uploads" },
        object: { key: "tenants/t1/users/u1/media/1700000000-abc-photo.jpg", size: 524288, eTag: "9b2cf535f27731c974343645a3985328" },
      },
    },
  ],
};

const jobIdParameter = {
  name: "id",
  in: "path",
  required: true,
  description: "Job id: derived from bucket, key and the upload's versionId, or its ETag and the event's sequencer.",
  schema: { type: "string", pattern: JOB_ID_PATTERN },
};

const dateTimeString = { type: "string", format: "date-time" };

const schemas: Record<string, Schema> = {
  Problem: {
    type: "object",
    description: "RFC 9457 problem details.",
    required: ["type", "title", "status", "code"],
    properties: {
      type: { type: "string" },
      title: { type: "string" },
      status: { type: "integer" },
      detail: { type: "string" },
      code: { type: "string", description: "Stable machine-readable name of the problem." },
      errors: { type: "array", items: { type: "object", properties: { in: { type: "string" }, field: { type: "string" }, message: { type: "string" } }, required: ["in", "message"] } },
    },
  },
  JobStatus: { type: "string", enum: [...JOB_STATUSES] },
  JobSource: {
    type: "object",
    required: ["bucket", "key"],
    properties: {
      bucket: { type: "string" },
      key: { type: "string" },
      size: { type: "number" },
      eTag: { type: "string" },
      versionId: { type: "string" },
      sequencer: { type: "string", description: "The S3 event's sequencer: tells two uploads of identical bytes to an unversioned key apart." },
    },
  },
  JobError: {
    type: "object",
    required: ["category", "code", "message"],
    properties: { category: { type: "string", enum: [...ERROR_CATEGORIES] }, code: { type: "string" }, message: { type: "string" }, retryable: { type: "boolean" } },
  },
  TimelineEntry: {
    type: "object",
    required: ["at", "event"],
    properties: { at: dateTimeString, event: { type: "string" }, detail: { type: "object" } },
  },
  JobSummary: {
    type: "object",
    description: "A job as listed: everything but the timeline and the result.",
    required: ["id", "type", "status", "source", "attempts", "progress", "createdAt"],
    properties: {
      id: { type: "string", pattern: JOB_ID_PATTERN },
      type: { type: "string", description: "Processor name once detected; `pending` before." },
      status: ref("JobStatus"),
      source: ref("JobSource"),
      tenantId: { type: "string" },
      userId: { type: "string" },
      attempts: { type: "integer", minimum: 0 },
      progress: { type: "number", minimum: 0, maximum: 100 },
      error: ref("JobError"),
      createdAt: dateTimeString,
      startedAt: dateTimeString,
      finishedAt: dateTimeString,
      durationMs: { type: "number", minimum: 0 },
      messageId: { type: "string" },
      workerId: { type: "string" },
      cancelRequested: { type: "boolean" },
      announcedEventId: { type: "string", description: "Id of the job event published to MEDIA_PROCESSING_TOPIC_ARN for the current terminal state." },
    },
  },
  Job: {
    description: "A job with its timeline and result (the manifest: outputs and metadata).",
    allOf: [
      ref("JobSummary"),
      {
        type: "object",
        required: ["timeline"],
        properties: { timeline: { type: "array", items: ref("TimelineEntry") }, result: { type: "object" } },
      },
    ],
  },
  JobList: {
    type: "object",
    required: ["jobs", "nextCursor"],
    properties: {
      jobs: { type: "array", items: ref("JobSummary") },
      nextCursor: { type: ["string", "null"], description: "Pass as `cursor` for the next page; null on the last page." },
    },
  },
  DroppedRecord: {
    type: "object",
    required: ["reason"],
    properties: { reason: { type: "string" }, bucket: { type: "string" }, key: { type: "string" }, eventName: { type: "string" } },
  },
  EnqueueResult: {
    type: "object",
    required: ["messageId", "jobs", "dropped"],
    properties: {
      messageId: { type: "string" },
      jobs: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "bucket", "key", "status", "created"],
          properties: {
            id: { type: "string", pattern: JOB_ID_PATTERN },
            bucket: { type: "string" },
            key: { type: "string" },
            status: ref("JobStatus"),
            created: { type: "boolean", description: "False when the upload was seen before: a finished job is not processed again (retry it)." },
          },
        },
      },
      dropped: { type: "array", items: ref("DroppedRecord") },
    },
  },
  RetryResult: { type: "object", required: ["job", "messageId"], properties: { job: ref("Job"), messageId: { type: "string" } } },
  CancelResult: {
    type: "object",
    required: ["job", "outcome"],
    properties: {
      job: ref("Job"),
      outcome: { type: "string", enum: ["cancelled", "cancel-requested"], description: "`cancel-requested`: the job is processing; its worker aborts it within moments." },
    },
  },
  JobOutputs: {
    type: "object",
    required: ["bucket", "expiresInSec", "outputs", "manifest"],
    properties: {
      bucket: { type: "string" },
      expiresInSec: { type: "integer" },
      outputs: {
        type: "array",
        items: {
          type: "object",
          required: ["key", "variant", "contentType", "url", "preview"],
          properties: {
            key: { type: "string" },
            variant: { type: "string" },
            contentType: { type: "string" },
            bytes: { type: "number" },
            width: { type: "number" },
            height: { type: "number" },
            durationSec: { type: "number" },
            url: { type: "string", format: "uri", description: "Presigned GET URL." },
            preview: { type: "string", enum: ["image", "none"] },
          },
        },
      },
      manifest: { oneOf: [{ type: "null" }, { type: "object", required: ["key", "url"], properties: { key: { type: "string" }, url: { type: "string", format: "uri" } } }] },
    },
  },
  QueueDepth: {
    type: "object",
    required: ["visible", "inFlight", "delayed"],
    properties: { visible: { type: "integer" }, inFlight: { type: "integer" }, delayed: { type: "integer" } },
  },
  DurationStats: {
    type: "object",
    required: ["count", "avgMs", "minMs", "maxMs", "p95Ms"],
    properties: { count: { type: "integer" }, avgMs: { type: "number" }, minMs: { type: "number" }, maxMs: { type: "number" }, p95Ms: { type: "number" } },
  },
  JobStats: {
    type: "object",
    required: ["window", "jobs", "successRate", "errors", "durations", "queues", "workers", "health"],
    properties: {
      window: { type: "object", required: ["minutes", "since", "until"], properties: { minutes: { type: "integer" }, since: dateTimeString, until: dateTimeString } },
      jobs: {
        type: "object",
        required: ["total", "byStatus", "perMinute", "finishedPerMinute", "truncated"],
        properties: {
          total: { type: "integer" },
          byStatus: { type: "object", required: [...JOB_STATUSES], additionalProperties: { type: "integer" } },
          perMinute: { type: "number" },
          finishedPerMinute: { type: "number" },
          truncated: { type: "boolean", description: "The window held more than API_STATS_MAX_JOBS jobs; the newest were counted." },
        },
      },
      successRate: { type: ["number", "null"], description: "completed / (completed + failed) of the jobs created in the window." },
      errors: {
        type: "object",
        required: ["byType", "byCategory"],
        properties: {
          byType: { type: "object", additionalProperties: { type: "object", required: ["failed", "finished", "rate"], properties: { failed: { type: "integer" }, finished: { type: "integer" }, rate: { type: "number" } } } },
          byCategory: { type: "object", additionalProperties: { type: "object", required: ["count", "rate"], properties: { count: { type: "integer" }, rate: { type: "number" } } } },
        },
      },
      durations: { type: "object", additionalProperties: ref("DurationStats") },
      queues: {
        type: "object",
        required: ["media", "dlq"],
        properties: { media: { oneOf: [ref("QueueDepth"), { type: "null" }] }, dlq: { oneOf: [ref("QueueDepth"), { type: "null" }] } },
      },
      workers: {
        oneOf: [
          { type: "null" },
          {
            type: "object",
            required: ["alive", "capacity", "inFlight", "list"],
            properties: {
              alive: { type: "integer" },
              capacity: { type: "integer" },
              inFlight: { type: "integer" },
              list: {
                type: "array",
                items: {
                  type: "object",
                  required: ["id", "concurrency", "inFlight", "startedAt", "lastSeen"],
                  properties: { id: { type: "string" }, concurrency: { type: "integer" }, inFlight: { type: "integer" }, startedAt: { type: "number" }, lastSeen: { type: "number" } },
                },
              },
            },
          },
        ],
      },
      health: {
        type: "object",
        required: ["status", "reasons"],
        properties: { status: { type: "string", enum: ["healthy", "degraded", "unhealthy"] }, reasons: { type: "array", items: { type: "string" } } },
      },
    },
  },
  RedriveRequest: {
    type: "object",
    additionalProperties: false,
    properties: { maxMessages: { type: "integer", minimum: 1, maximum: REDRIVE_MAX_MESSAGES, description: `At most this many messages; all (up to ${REDRIVE_MAX_MESSAGES}) when absent.` } },
  },
  RedriveResult: {
    type: "object",
    required: ["moved", "jobs"],
    properties: {
      moved: { type: "integer" },
      jobs: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "requeued", "status"],
          properties: { id: { type: "string" }, requeued: { type: "boolean" }, status: { type: "string", enum: [...JOB_STATUSES, "unknown"] } },
        },
      },
    },
  },
  S3Event: {
    type: "object",
    description:
      "An S3 event notification (`Records`), the same wrapped in an SNS envelope (`Type: Notification`, `Message`), or an EventBridge `Object Created` event — what the worker reads from the queue.",
    oneOf: [
      {
        title: "S3 notification",
        type: "object",
        required: ["Records"],
        properties: {
          Records: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["eventName", "s3"],
              properties: {
                eventName: { type: "string", examples: ["ObjectCreated:Put"] },
                s3: {
                  type: "object",
                  required: ["bucket", "object"],
                  properties: {
                    bucket: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
                    object: {
                      type: "object",
                      required: ["key"],
                      properties: {
                        key: { type: "string", description: "URL-encoded as S3 writes it." },
                        size: { type: "number" },
                        eTag: { type: "string" },
                        versionId: { type: "string", description: "\"null\" (unversioned bucket) is no version." },
                        sequencer: { type: "string", description: "Set by S3 for every PUT; two uploads of the same bytes are two jobs." },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
      { title: "SNS envelope", type: "object", required: ["Type", "Message"], properties: { Type: { const: "Notification" }, Message: { type: "string", description: "The S3 notification as a JSON string." } } },
      {
        title: "EventBridge",
        type: "object",
        required: ["source", "detail-type", "detail"],
        properties: {
          source: { const: "aws.s3" },
          "detail-type": { type: "string", examples: ["Object Created"] },
          detail: {
            type: "object",
            required: ["bucket", "object"],
            properties: {
              bucket: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
              object: { type: "object", required: ["key"], properties: { key: { type: "string" }, size: { type: "number" }, etag: { type: "string" }, "version-id": { type: "string" } } },
            },
          },
        },
      },
    ],
  },
  Health: { type: "object", required: ["status"], properties: { status: { type: "string", enum: ["ok", "draining"] } } },
  Readiness: {
    type: "object",
    required: ["status", "checks"],
    properties: { status: { type: "string", enum: ["ready", "not-ready"] }, checks: { type: "object", additionalProperties: { type: "boolean" } } },
  },
};

const paths = {
  "/": {
    get: { summary: "The operator dashboard (HTML).", operationId: "dashboard", security: [], responses: { "200": { description: "The page.", content: { "text/html": { schema: { type: "string" } } } } } },
  },
  "/dashboard/dashboard.js": {
    get: { summary: "The dashboard's script.", operationId: "dashboardScript", security: [], responses: { "200": { description: "JavaScript.", content: { "text/javascript": { schema: { type: "string" } } } } } },
  },
  "/dashboard/dashboard.css": {
    get: { summary: "The dashboard's stylesheet.", operationId: "dashboardStyle", security: [], responses: { "200": { description: "CSS.", content: { "text/css": { schema: { type: "string" } } } } } },
  },
  "/healthz": {
    get: { summary: "Liveness: the process answers.", operationId: "healthz", security: [], responses: { "200": { description: "Alive.", content: json(ref("Health")) } } },
  },
  "/readyz": {
    get: {
      summary: "Readiness: Redis and SQS answer.",
      operationId: "readyz",
      security: [],
      responses: { "200": { description: "Ready.", content: json(ref("Readiness")) }, "503": { description: "A dependency does not answer, or the API is stopping.", content: json(ref("Readiness")) } },
    },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics of the API process.",
      operationId: "metrics",
      security: [],
      responses: { "200": { description: "Prometheus text format.", content: { "text/plain": { schema: { type: "string" } } } } },
    },
  },
  "/api/openapi.json": {
    get: { summary: "This document.", operationId: "openapi", responses: { "200": { description: "OpenAPI 3.1.", content: json({ type: "object" }) }, ...API_ERRORS } },
  },
  "/api/media/process-s3-event": {
    post: {
      summary: "Enqueue an S3 upload event",
      description: "Parses the event like the worker does, sends it to the media queue and records its jobs as queued. Returns the ids of the jobs it produces.",
      operationId: "processS3Event",
      requestBody: { required: true, content: { "application/json": { schema: ref("S3Event"), examples: { upload: { summary: "An S3 upload notification", value: EXAMPLE_EVENT } } } } },
      responses: {
        "202": { description: "Enqueued.", content: json(ref("EnqueueResult")), links: jobLinks("$response.body#/jobs/0/id") },
        ...BAD_REQUEST,
        ...BODY_ERRORS,
        "422": problem("The event holds no object to process (test event, removal, output key, foreign bucket, unsafe key); `dropped` says why."),
        "502": problem("SQS refused the message (permissions, missing queue)."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/jobs": {
    get: {
      summary: "List jobs, newest first",
      operationId: "listJobs",
      parameters: [
        { name: "status", in: "query", schema: ref("JobStatus") },
        { name: "type", in: "query", schema: { type: "string", pattern: TYPE_PATTERN }, description: "Processor name: image, video, audio, document, pending, …" },
        { name: "tenant", in: "query", schema: { type: "string", minLength: 1, maxLength: 256 } },
        { name: "since", in: "query", schema: dateTimeString, description: "Created at or after." },
        { name: "until", in: "query", schema: dateTimeString, description: "Created at or before." },
        { name: "limit", in: "query", schema: { type: "integer", minimum: LIST_LIMIT.min, maximum: LIST_LIMIT.max, default: LIST_LIMIT.fallback } },
        { name: "cursor", in: "query", schema: { type: "string", pattern: CURSOR_PATTERN }, description: "`nextCursor` of the previous page; pages stay stable while jobs are added." },
      ],
      responses: { "200": { description: "A page of jobs.", content: json(ref("JobList")) }, ...BAD_REQUEST, ...API_ERRORS },
    },
  },
  "/api/media/jobs/stats": {
    get: {
      summary: "Throughput, success and error rates, durations, queue depths, workers and a health verdict",
      operationId: "jobStats",
      parameters: [
        {
          name: "windowMinutes",
          in: "query",
          schema: { type: "integer", minimum: STATS_WINDOW_MINUTES.min, maximum: STATS_WINDOW_MINUTES.max, default: STATS_WINDOW_MINUTES.fallback },
          description: "Jobs created within this many minutes are counted.",
        },
      ],
      responses: { "200": { description: "Stats.", content: json(ref("JobStats")) }, ...BAD_REQUEST, ...API_ERRORS },
    },
  },
  "/api/media/jobs/{id}": {
    parameters: [jobIdParameter],
    get: {
      summary: "A job with its timeline, result and error",
      operationId: "getJob",
      responses: { "200": { description: "The job.", content: json(ref("Job")) }, ...BAD_REQUEST, ...NOT_FOUND, ...API_ERRORS },
    },
    post: {
      summary: "Retry a job (same as POST …/retry)",
      operationId: "retryJobSeed",
      parameters: [{ name: "force", in: "query", schema: { type: "boolean", default: false }, description: "Also retry a completed job." }],
      responses: retryResponses(),
    },
    delete: {
      summary: "Cancel a job",
      description: "A queued job is cancelled at once (its message is skipped when it arrives); a processing job is aborted by its worker within moments and ends `cancelled`.",
      operationId: "cancelJob",
      responses: {
        "200": { description: "Cancelled (it was queued).", content: json(ref("CancelResult")) },
        "202": { description: "Cancellation requested (it is processing).", content: json(ref("CancelResult")) },
        ...BAD_REQUEST,
        ...NOT_FOUND,
        "409": problem("The job already finished (completed, failed or cancelled)."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/jobs/{id}/retry": {
    parameters: [jobIdParameter],
    post: {
      summary: "Retry a failed or cancelled job",
      description: "The job goes back to queued and its source event is sent to the media queue again. A completed job needs `force=true`; a queued or processing job is a conflict.",
      operationId: "retryJob",
      parameters: [{ name: "force", in: "query", schema: { type: "boolean", default: false }, description: "Also retry a completed job." }],
      responses: retryResponses(),
    },
  },
  "/api/media/jobs/{id}/outputs": {
    parameters: [jobIdParameter],
    get: {
      summary: "The job's outputs with presigned URLs (for previews)",
      operationId: "jobOutputs",
      responses: { "200": { description: "Outputs; empty until the job completed.", content: json(ref("JobOutputs")) }, ...BAD_REQUEST, ...NOT_FOUND, ...API_ERRORS },
    },
  },
  "/api/media/dlq/redrive": {
    post: {
      summary: "Move messages from the dead-letter queue back to the media queue",
      description: "Requeues each affected failed job (recorded on its timeline) before its message is sent back, so workers process it again.",
      operationId: "redriveDlq",
      requestBody: { required: false, content: json(ref("RedriveRequest")) },
      responses: {
        "200": { description: "Moved.", content: json(ref("RedriveResult")) },
        ...BAD_REQUEST,
        ...BODY_ERRORS,
        "409": problem("No dead-letter queue is configured (MEDIA_DLQ_URL)."),
        "502": problem("SQS refused the request."),
        ...API_ERRORS,
      },
    },
  },
};

function retryResponses() {
  return {
    "202": { description: "Requeued and sent to the media queue.", content: json(ref("RetryResult")), links: jobLinks("$response.body#/job/id") },
    ...BAD_REQUEST,
    ...NOT_FOUND,
    "409": problem("The job is queued or processing, or completed without force=true."),
    "502": problem("SQS refused the message."),
    ...API_ERRORS,
  };
}

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "media-processor job API",
    version: "1.0.0",
    description: "Jobs of the media-processor worker fleet: list, inspect, retry, cancel, stats, DLQ redrive. Errors are application/problem+json (RFC 9457).",
  },
  servers: [{ url: "/" }],
  security: [{ bearerAuth: [] }],
  components: {
    securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "API_TOKEN" } },
    schemas,
  },
  paths,
} as const;

/** Methods served on each path (for 405 answers with an Allow header). */
export function allowedMethods(): Map<string, string[]> {
  const methods = new Map<string, string[]>();
  for (const [path, item] of Object.entries(paths)) {
    methods.set(path.replace(/\{(\w+)\}/g, ":$1"), Object.keys(item).filter((key) => key !== "parameters").map((method) => method.toUpperCase()));
  }
  return methods;
}
