import { ERROR_CATEGORIES } from "../errors.ts";
import { JOB_STATUSES } from "../jobs/job.model.ts";
import {
  ACTION_ID_PATTERN,
  BULK_MAX_JOBS,
  CURSOR_PATTERN,
  DLQ_PEEK_LIMIT,
  HLS_FILE_PATTERN,
  JOB_ID_PATTERN,
  KEY_MAX_LENGTH,
  LIST_LIMIT,
  REDRIVE_MAX_MESSAGES,
  STATS_WINDOW_MINUTES,
  TENANT_MAX_LENGTH,
  TYPE_PATTERN,
} from "./validation.ts";
import { mediaPaths, mediaSchemas } from "./openapi-media.ts";

/**
 * The OpenAPI 3.1 contract of the API, served at /api/openapi.json. Written by hand next to the
 * zod schemas whose limits it imports; tests/api check every response the tests receive against
 * it, and scripts/check-api-fuzz.sh runs schemathesis against it.
 */

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ "application/json": { schema } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});

/** Responses every /api operation can give. */
const API_ERRORS = {
  "401": problem("Missing or invalid bearer token."),
  "403": problem(
    "The token's scope does not allow this (`insufficient-scope`), or it is limited to a tenant and this is another tenant's or the whole fleet's (`tenant-scoped-token`).",
  ),
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
    ["getJob", "jobOutputs", "cancelJob", "retryJob"].map((operationId) => [
      operationId,
      { operationId, parameters: { id: idExpression } },
    ]),
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
        object: {
          key: "tenants/t1/users/u1/media/1700000000-abc-photo.jpg",
          size: 524288,
          eTag: "9b2cf535f27731c974343645a3985328",
        },
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
      errors: {
        type: "array",
        items: {
          type: "object",
          properties: { in: { type: "string" }, field: { type: "string" }, message: { type: "string" } },
          required: ["in", "message"],
        },
      },
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
      sequencer: {
        type: "string",
        description: "The S3 event's sequencer: tells two uploads of identical bytes to an unversioned key apart.",
      },
    },
  },
  JobError: {
    type: "object",
    required: ["category", "code", "message"],
    properties: {
      category: { type: "string", enum: [...ERROR_CATEGORIES] },
      code: { type: "string" },
      message: { type: "string" },
      retryable: { type: "boolean" },
    },
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
      announcedEventId: {
        type: "string",
        description: "Id of the job event published to MEDIA_PROCESSING_TOPIC_ARN for the current terminal state.",
      },
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
      nextCursor: {
        type: ["string", "null"],
        description: "Pass as `cursor` for the next page; null on the last page.",
      },
    },
  },
  DroppedRecord: {
    type: "object",
    required: ["reason"],
    properties: {
      reason: { type: "string" },
      bucket: { type: "string" },
      key: { type: "string" },
      eventName: { type: "string" },
    },
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
            created: {
              type: "boolean",
              description: "False when the upload was seen before: a finished job is not processed again (retry it).",
            },
          },
        },
      },
      dropped: { type: "array", items: ref("DroppedRecord") },
    },
  },
  RetryResult: {
    type: "object",
    required: ["job", "messageId"],
    properties: { job: ref("Job"), messageId: { type: "string" } },
  },
  CancelResult: {
    type: "object",
    required: ["job", "outcome"],
    properties: {
      job: ref("Job"),
      outcome: {
        type: "string",
        enum: ["cancelled", "cancel-requested"],
        description: "`cancel-requested`: the job is processing; its worker aborts it within moments.",
      },
    },
  },
  JobOutputs: {
    type: "object",
    required: ["bucket", "expiresInSec", "outputs", "manifest", "playerUrl"],
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
            preview: {
              type: "string",
              enum: ["image", "video", "audio", "hls", "none"],
              description: "How a browser shows it: img, video, audio, the HLS player (playerUrl), or a link.",
            },
          },
        },
      },
      manifest: {
        oneOf: [
          { type: "null" },
          {
            type: "object",
            required: ["key", "url"],
            properties: { key: { type: "string" }, url: { type: "string", format: "uri" } },
          },
        ],
      },
      playerUrl: {
        type: ["string", "null"],
        description:
          "The HLS master playlist through this API (GET /api/media/jobs/{id}/hls), for a player; null without a ladder.",
      },
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
    properties: {
      count: { type: "integer" },
      avgMs: { type: "number" },
      minMs: { type: "number" },
      maxMs: { type: "number" },
      p95Ms: { type: "number" },
    },
  },
  JobStats: {
    type: "object",
    required: [
      "window",
      "jobs",
      "successRate",
      "errors",
      "durations",
      "latency",
      "history",
      "queues",
      "workers",
      "health",
    ],
    properties: {
      window: {
        type: "object",
        required: ["minutes", "since", "until"],
        properties: { minutes: { type: "integer" }, since: dateTimeString, until: dateTimeString },
      },
      jobs: {
        type: "object",
        required: ["total", "byStatus", "perMinute", "finishedPerMinute", "truncated", "inStore"],
        description:
          "total: jobs first seen in the window. byStatus: queued and processing now; completed, failed and cancelled as they finished in the window (a job retried in it counts once per outcome).",
        properties: {
          total: { type: "integer" },
          byStatus: { type: "object", required: [...JOB_STATUSES], additionalProperties: { type: "integer" } },
          perMinute: { type: "number" },
          finishedPerMinute: { type: "number" },
          truncated: {
            type: "boolean",
            description: "Kept for clients of the first version; always false (counters cover every job).",
          },
          inStore: {
            type: "object",
            required: [...JOB_STATUSES],
            additionalProperties: { type: "integer" },
            description: "Every job the store holds now, per status.",
          },
        },
      },
      successRate: {
        type: ["number", "null"],
        description: "completed / (completed + failed) of the jobs created in the window.",
      },
      errors: {
        type: "object",
        required: ["byType", "byCategory", "byCode"],
        properties: {
          byType: {
            type: "object",
            additionalProperties: {
              type: "object",
              required: ["failed", "finished", "rate"],
              properties: { failed: { type: "integer" }, finished: { type: "integer" }, rate: { type: "number" } },
            },
          },
          byCategory: {
            type: "object",
            additionalProperties: {
              type: "object",
              required: ["count", "rate"],
              properties: { count: { type: "integer" }, rate: { type: "number" } },
            },
          },
          byCode: {
            type: "object",
            additionalProperties: {
              type: "object",
              required: ["count", "rate"],
              properties: { count: { type: "integer" }, rate: { type: "number" } },
            },
            description: "Failures by error code.",
          },
        },
      },
      durations: {
        type: "object",
        additionalProperties: ref("DurationStats"),
        description: "Processing time of completed jobs per type; p95 estimated from a histogram, within [min, max].",
      },
      latency: { oneOf: [{ type: "null" }, ref("DurationStats")], description: "Upload seen → completed, all types." },
      history: {
        type: "object",
        required: ["bucketMinutes", "points"],
        properties: {
          bucketMinutes: { type: "integer", description: "1 for windows up to 3 h, 60 beyond." },
          points: {
            type: "array",
            items: {
              type: "object",
              required: ["at", "created", "completed", "failed", "cancelled", "durationAvgMs", "durationP95Ms"],
              properties: {
                at: dateTimeString,
                created: { type: "integer" },
                completed: { type: "integer" },
                failed: { type: "integer" },
                cancelled: { type: "integer" },
                durationAvgMs: { type: ["number", "null"] },
                durationP95Ms: { type: ["number", "null"] },
              },
            },
          },
        },
      },
      queues: {
        type: "object",
        required: ["media", "dlq"],
        properties: {
          media: { oneOf: [ref("QueueDepth"), { type: "null" }] },
          dlq: { oneOf: [ref("QueueDepth"), { type: "null" }] },
        },
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
                  properties: {
                    id: { type: "string" },
                    concurrency: { type: "integer" },
                    inFlight: { type: "integer" },
                    startedAt: { type: "number" },
                    lastSeen: { type: "number" },
                  },
                },
              },
            },
          },
        ],
      },
      health: {
        type: "object",
        required: ["status", "reasons"],
        properties: {
          status: { type: "string", enum: ["healthy", "degraded", "unhealthy"] },
          reasons: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
  RedriveRequest: {
    type: "object",
    additionalProperties: false,
    properties: {
      maxMessages: {
        type: "integer",
        minimum: 1,
        maximum: REDRIVE_MAX_MESSAGES,
        description: `At most this many messages are moved; all (up to ${REDRIVE_MAX_MESSAGES}) when absent.`,
      },
      messageIds: {
        type: "array",
        minItems: 1,
        maxItems: 1000,
        items: { type: "string", minLength: 1, maxLength: 128 },
        description: "Only these messages (ids from GET /api/media/dlq/messages).",
      },
      filter: {
        type: "object",
        additionalProperties: false,
        description: "Only messages naming an object that matches every given condition.",
        properties: {
          tenant: { type: "string", minLength: 1, maxLength: TENANT_MAX_LENGTH },
          keyPrefix: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
          errorCode: {
            type: "string",
            minLength: 1,
            maxLength: 128,
            description: "The last error code of the object's job.",
          },
        },
      },
      dropNonEvents: {
        type: "boolean",
        description:
          "Delete bodies that are not upload events instead of leaving them in the DLQ (scope admin). They are reported either way.",
      },
    },
  },
  BulkRequest: {
    type: "object",
    additionalProperties: false,
    required: ["action", "filter"],
    properties: {
      action: { type: "string", enum: ["retry", "cancel"] },
      filter: {
        type: "object",
        additionalProperties: false,
        description:
          "The list's filters; every matching job is retried (failed/cancelled; completed too with force) or cancelled (queued/processing). Jobs in another state are skipped.",
        properties: {
          status: ref("JobStatus"),
          type: { type: "string", pattern: TYPE_PATTERN },
          tenant: { type: "string", minLength: 1, maxLength: TENANT_MAX_LENGTH },
          since: dateTimeString,
          until: dateTimeString,
        },
      },
      force: { type: "boolean", description: "Retry: also completed jobs." },
      maxJobs: {
        type: "integer",
        minimum: 1,
        maximum: BULK_MAX_JOBS,
        description: `At most this many jobs (default ${BULK_MAX_JOBS}).`,
      },
    },
  },
  Action: {
    type: "object",
    description: "A background action (DLQ redrive, bulk retry or cancel) and its progress; kept for a day.",
    required: ["id", "kind", "state", "by", "request", "progress", "createdAt", "updatedAt"],
    properties: {
      id: { type: "string", pattern: ACTION_ID_PATTERN },
      kind: { type: "string", enum: ["dlq-redrive", "bulk-retry", "bulk-cancel"] },
      state: {
        type: "string",
        enum: ["running", "done", "failed", "abandoned"],
        description: "`abandoned`: the API process running it stopped reporting.",
      },
      by: { type: "string", description: "Id of the token that started it." },
      tenant: { type: "string" },
      request: { type: "object" },
      progress: {
        type: "object",
        description:
          "Redrive: scanned, moved, skipped, complete, notEvents [{messageId, reason, preview, dropped}], jobs [{id, requeued, status}]. Bulk: matched, done, skipped, failed, complete, errors [{jobId, message}].",
      },
      createdAt: dateTimeString,
      updatedAt: dateTimeString,
      finishedAt: dateTimeString,
      error: { type: "string" },
    },
  },
  ActionAccepted: { type: "object", required: ["action"], properties: { action: ref("Action") } },
  ActionList: {
    type: "object",
    required: ["actions"],
    properties: { actions: { type: "array", items: ref("Action") } },
  },
  DlqPeek: {
    type: "object",
    required: ["messages", "complete"],
    properties: {
      complete: { type: "boolean", description: "True when the whole DLQ was read (fewer than limit messages)." },
      messages: {
        type: "array",
        items: {
          type: "object",
          required: ["messageId", "sentAt", "receiveCount", "body", "objects"],
          properties: {
            messageId: { type: "string" },
            sentAt: { type: ["string", "null"], format: "date-time" },
            receiveCount: { type: "integer" },
            body: {
              oneOf: [
                { type: "object", required: ["kind"], properties: { kind: { const: "event" } } },
                {
                  type: "object",
                  required: ["kind", "reason", "preview"],
                  properties: {
                    kind: { const: "not-an-event" },
                    reason: { type: "string" },
                    preview: { type: "string" },
                  },
                },
              ],
            },
            objects: {
              type: "array",
              items: {
                type: "object",
                required: ["bucket", "key", "jobId", "job"],
                properties: {
                  bucket: { type: "string" },
                  key: { type: "string" },
                  jobId: { type: "string", pattern: JOB_ID_PATTERN },
                  tenantId: { type: "string" },
                  job: {
                    oneOf: [
                      { type: "null" },
                      {
                        type: "object",
                        required: ["status", "attempts", "error"],
                        properties: {
                          status: ref("JobStatus"),
                          attempts: { type: "integer" },
                          error: { oneOf: [{ type: "null" }, ref("JobError")] },
                        },
                      },
                    ],
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  Lane: {
    type: "object",
    required: ["name", "kinds", "entry", "queue", "backlog", "workers", "slots", "waitingTenants"],
    properties: {
      name: { type: "string" },
      kinds: { type: "array", items: { type: "string" }, description: "Media kinds routed to it." },
      entry: { type: "boolean", description: "Every upload's event reaches this lane first; it routes the rest." },
      queue: { oneOf: [ref("QueueDepth"), { type: "null" }], description: "Its queue; null where unreadable." },
      backlog: {
        oneOf: [ref("QueueDepth"), { type: "null" }],
        description:
          "Its backlog queue (FAIR_SHARE_BACKLOG_QUEUE_URLS), where running tenants' surplus waits; null without one or where unreadable.",
      },
      workers: { type: "integer", description: "Live workers serving it." },
      slots: { type: "integer", description: "Their running slots for it (the lane's capacity)." },
      waitingTenants: {
        type: "array",
        description: "Tenants with the most messages deferred by the fair share and not yet back (at most 10).",
        items: {
          type: "object",
          required: ["tenant", "waiting"],
          properties: { tenant: { type: "string" }, waiting: { type: "integer" } },
        },
      },
    },
  },
  Queues: {
    type: "object",
    required: ["media", "dlq", "intake", "lanes", "observedAt", "jobs"],
    properties: {
      observedAt: {
        type: ["string", "null"],
        format: "date-time",
        description:
          "When the depths were read (they are polled every API_QUEUE_DEPTH_INTERVAL); null before the first read.",
      },
      media: { oneOf: [ref("QueueDepth"), { type: "null" }] },
      dlq: { oneOf: [ref("QueueDepth"), { type: "null" }] },
      intake: {
        oneOf: [ref("QueueDepth"), { type: "null" }],
        description: "The intake queue (MEDIA_INTAKE_QUEUE_URL); null when there is none.",
      },
      lanes: {
        type: "array",
        items: ref("Lane"),
        description: "Each lane (MEDIA_LANES), the entry lane first; empty with one lane.",
      },
      jobs: {
        type: "object",
        required: [...JOB_STATUSES],
        additionalProperties: { type: "integer" },
        description: "Jobs in the store per status now.",
      },
    },
  },
  Workers: {
    type: "object",
    required: ["workers"],
    properties: {
      workers: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "concurrency", "inFlight", "startedAt", "lastSeen", "jobs"],
          properties: {
            id: { type: "string" },
            concurrency: { type: "integer" },
            inFlight: { type: "integer" },
            startedAt: { type: "number" },
            lastSeen: { type: "number" },
            jobs: {
              type: "array",
              items: {
                type: "object",
                required: ["id", "type", "key", "progress", "startedAt", "elapsedMs", "cancelRequested"],
                properties: {
                  id: { type: "string", pattern: JOB_ID_PATTERN },
                  type: { type: "string" },
                  key: { type: "string" },
                  progress: { type: "number" },
                  startedAt: { type: ["string", "null"], format: "date-time" },
                  elapsedMs: { type: ["number", "null"] },
                  cancelRequested: { type: "boolean" },
                },
              },
            },
          },
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
                        versionId: { type: "string", description: '"null" (unversioned bucket) is no version.' },
                        sequencer: {
                          type: "string",
                          description: "Set by S3 for every PUT; two uploads of the same bytes are two jobs.",
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
      {
        title: "SNS envelope",
        type: "object",
        required: ["Type", "Message"],
        properties: {
          Type: { const: "Notification" },
          Message: { type: "string", description: "The S3 notification as a JSON string." },
        },
      },
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
              object: {
                type: "object",
                required: ["key"],
                properties: {
                  key: { type: "string" },
                  size: { type: "number" },
                  etag: { type: "string" },
                  "version-id": { type: "string" },
                },
              },
            },
          },
        },
      },
    ],
  },
  Health: {
    type: "object",
    required: ["status"],
    properties: { status: { type: "string", enum: ["ok", "draining"] } },
  },
  Readiness: {
    type: "object",
    required: ["status", "checks"],
    properties: {
      status: { type: "string", enum: ["ready", "not-ready"] },
      checks: { type: "object", additionalProperties: { type: "boolean" } },
    },
  },
};

const paths = {
  ...mediaPaths,
  "/": {
    get: {
      summary: "The operator dashboard (HTML).",
      operationId: "dashboard",
      security: [],
      responses: { "200": { description: "The page.", content: { "text/html": { schema: { type: "string" } } } } },
    },
  },
  "/dashboard/dashboard.js": {
    get: {
      summary: "The dashboard's script.",
      operationId: "dashboardScript",
      security: [],
      responses: {
        "200": { description: "JavaScript.", content: { "text/javascript": { schema: { type: "string" } } } },
      },
    },
  },
  "/dashboard/dashboard.css": {
    get: {
      summary: "The dashboard's stylesheet.",
      operationId: "dashboardStyle",
      security: [],
      responses: { "200": { description: "CSS.", content: { "text/css": { schema: { type: "string" } } } } },
    },
  },
  "/dashboard/vendor/hls.light.min.js": {
    get: {
      summary: "hls.js (from its npm package) for the dashboard's video player.",
      operationId: "dashboardHlsJs",
      security: [],
      responses: {
        "200": { description: "JavaScript.", content: { "text/javascript": { schema: { type: "string" } } } },
      },
    },
  },
  "/healthz": {
    get: {
      summary: "Liveness: the process answers.",
      operationId: "healthz",
      security: [],
      responses: { "200": { description: "Alive.", content: json(ref("Health")) } },
    },
  },
  "/readyz": {
    get: {
      summary: "Readiness: Redis and SQS answer.",
      operationId: "readyz",
      security: [],
      responses: {
        "200": { description: "Ready.", content: json(ref("Readiness")) },
        "503": {
          description: "A dependency does not answer, or the API is stopping.",
          content: json(ref("Readiness")),
        },
      },
    },
  },
  "/metrics": {
    get: {
      summary: "Prometheus metrics of the API process.",
      operationId: "metrics",
      security: [],
      responses: {
        "200": { description: "Prometheus text format.", content: { "text/plain": { schema: { type: "string" } } } },
      },
    },
  },
  "/api/openapi.json": {
    get: {
      summary: "This document.",
      operationId: "openapi",
      responses: { "200": { description: "OpenAPI 3.1.", content: json({ type: "object" }) }, ...API_ERRORS },
    },
  },
  "/api/media/process-s3-event": {
    post: {
      summary: "Enqueue an S3 upload event",
      description:
        "Parses the event like the worker does, sends it to the media queue and records its jobs as queued. Returns the ids of the jobs it produces.",
      operationId: "processS3Event",
      requestBody: {
        required: true,
        content: {
          "application/json": {
            schema: ref("S3Event"),
            examples: { upload: { summary: "An S3 upload notification", value: EXAMPLE_EVENT } },
          },
        },
      },
      responses: {
        "202": {
          description: "Enqueued.",
          content: json(ref("EnqueueResult")),
          links: jobLinks("$response.body#/jobs/0/id"),
        },
        ...BAD_REQUEST,
        ...BODY_ERRORS,
        "422": problem(
          "The event holds no object to process (test event, removal, output key, foreign bucket, unsafe key); `dropped` says why.",
        ),
        "502": problem("SQS refused the message (permissions, missing queue)."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/jobs": {
    get: {
      summary: "List jobs, newest first, or search them by source key",
      description:
        "Any combination of status, type, tenant and a time window costs one page whatever the store holds (an index per combination). With `key` or `keyPrefix` the jobs come in key order, with the same filters; such a page may hold fewer than `limit` jobs and still have a `nextCursor`. Unknown parameters are refused. A token limited to a tenant sees only that tenant's jobs.",
      operationId: "listJobs",
      parameters: [
        { name: "status", in: "query", schema: ref("JobStatus") },
        {
          name: "type",
          in: "query",
          schema: { type: "string", pattern: TYPE_PATTERN },
          description: "Processor name: image, video, audio, document, pending, …",
        },
        { name: "tenant", in: "query", schema: { type: "string", minLength: 1, maxLength: 256 } },
        { name: "since", in: "query", schema: dateTimeString, description: "Created at or after." },
        { name: "until", in: "query", schema: dateTimeString, description: "Created at or before." },
        {
          name: "key",
          in: "query",
          schema: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
          description: "Jobs of exactly this source key (any version), in key order. Not with keyPrefix.",
        },
        {
          name: "keyPrefix",
          in: "query",
          schema: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
          description: "Jobs whose source key starts with this, in key order. Not with key.",
        },
        {
          name: "limit",
          in: "query",
          schema: { type: "integer", minimum: LIST_LIMIT.min, maximum: LIST_LIMIT.max, default: LIST_LIMIT.fallback },
        },
        {
          name: "cursor",
          in: "query",
          schema: { type: "string", pattern: CURSOR_PATTERN },
          description:
            "`nextCursor` of the previous page (a `k…` cursor comes from a key search and only continues one); pages stay stable while jobs are added.",
        },
      ],
      responses: {
        "200": { description: "A page of jobs.", content: json(ref("JobList")) },
        ...BAD_REQUEST,
        ...API_ERRORS,
      },
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
          schema: {
            type: "integer",
            minimum: STATS_WINDOW_MINUTES.min,
            maximum: STATS_WINDOW_MINUTES.max,
            default: STATS_WINDOW_MINUTES.fallback,
          },
          description: "Jobs created within this many minutes are counted.",
        },
      ],
      responses: { "200": { description: "Stats.", content: json(ref("JobStats")) }, ...BAD_REQUEST, ...API_ERRORS },
    },
  },
  // Before /jobs/{id}: the 405 guards run in this order, and bulk must answer with its own Allow.
  "/api/media/jobs/bulk": {
    post: {
      summary: "Retry or cancel every job a filter matches, in the background",
      description:
        "Starts a background action (follow it at Location / GET /api/media/actions/{id}). Each job goes through the same audited transition as a single retry or cancel. A tenant-limited token acts on its own tenant only.",
      operationId: "bulkJobs",
      "x-required-scope": "operate",
      requestBody: { required: true, content: json(ref("BulkRequest")) },
      responses: {
        "202": { description: "Started.", content: json(ref("ActionAccepted")), links: actionLinks() },
        ...BAD_REQUEST,
        ...BODY_ERRORS,
        ...API_ERRORS,
      },
    },
  },
  "/api/media/jobs/{id}": {
    parameters: [jobIdParameter],
    get: {
      summary: "A job with its timeline, result and error",
      operationId: "getJob",
      responses: {
        "200": { description: "The job.", content: json(ref("Job")) },
        ...BAD_REQUEST,
        ...NOT_FOUND,
        ...API_ERRORS,
      },
    },
    post: {
      summary: "Retry a job (same as POST …/retry)",
      operationId: "retryJobSeed",
      parameters: [
        {
          name: "force",
          in: "query",
          schema: { type: "boolean", default: false },
          description: "Also retry a completed job.",
        },
      ],
      responses: retryResponses(),
    },
    delete: {
      summary: "Cancel a job",
      description:
        "A queued job is cancelled at once (its message is skipped when it arrives); a processing job is aborted by its worker within moments and ends `cancelled`.",
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
      description:
        "The job goes back to queued and its source event is sent to the media queue again. A completed job needs `force=true`; a queued or processing job is a conflict.",
      operationId: "retryJob",
      parameters: [
        {
          name: "force",
          in: "query",
          schema: { type: "boolean", default: false },
          description: "Also retry a completed job.",
        },
      ],
      responses: retryResponses(),
    },
  },
  "/api/media/jobs/{id}/outputs": {
    parameters: [jobIdParameter],
    get: {
      summary: "The job's outputs with presigned URLs (for previews)",
      operationId: "jobOutputs",
      responses: {
        "200": { description: "Outputs; empty until the job completed.", content: json(ref("JobOutputs")) },
        ...BAD_REQUEST,
        ...NOT_FOUND,
        ...API_ERRORS,
      },
    },
  },
  "/api/media/jobs/{id}/hls": {
    parameters: [jobIdParameter],
    get: {
      summary: "A file of the job's HLS ladder, for the console's player",
      description:
        "Playlists come with their URIs pointed back at this route; segments are streamed from S3. Only files inside the job's own HLS folder are served.",
      operationId: "jobHlsFile",
      "x-required-scope": "read",
      parameters: [
        {
          name: "file",
          in: "query",
          required: true,
          schema: { type: "string", pattern: HLS_FILE_PATTERN },
          description: "Path inside the HLS folder, e.g. master.m3u8 or 720p/segment_00001.ts.",
        },
      ],
      responses: {
        "200": {
          description: "The playlist (rewritten) or the segment.",
          content: {
            "application/vnd.apple.mpegurl": { schema: { type: "string" } },
            "video/mp2t": { schema: { type: "string" } },
            "video/iso.segment": { schema: { type: "string" } },
            "video/mp4": { schema: { type: "string" } },
          },
        },
        ...BAD_REQUEST,
        "404": problem("No such job, the job has no HLS ladder, or no such file in it."),
        "502": problem("S3 refused the request."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/dlq/messages": {
    get: {
      summary: "Peek at the dead-letter queue: messages, their objects and their jobs' last errors",
      description:
        "Nothing is consumed: messages are received with a short visibility and made visible again at once. Not for tenant-limited tokens.",
      operationId: "peekDlq",
      "x-required-scope": "read",
      parameters: [
        {
          name: "limit",
          in: "query",
          schema: {
            type: "integer",
            minimum: DLQ_PEEK_LIMIT.min,
            maximum: DLQ_PEEK_LIMIT.max,
            default: DLQ_PEEK_LIMIT.fallback,
          },
        },
      ],
      responses: {
        "200": { description: "Messages.", content: json(ref("DlqPeek")) },
        ...BAD_REQUEST,
        "409": problem("No dead-letter queue is configured (MEDIA_DLQ_URL)."),
        "502": problem("SQS refused the request."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/dlq/redrive": {
    post: {
      summary: "Move messages from the dead-letter queue back to the media queue, in the background",
      description:
        "All, named (`messageIds`) or filtered messages. Each affected failed job is requeued (recorded on its timeline with the token id) before its message is sent back, so workers process it again. Bodies that are not upload events are reported in the progress, and left in the DLQ unless `dropNonEvents`. Follow the action at Location.",
      operationId: "redriveDlq",
      "x-required-scope": "operate",
      requestBody: { required: false, content: json(ref("RedriveRequest")) },
      responses: {
        "202": { description: "Started.", content: json(ref("ActionAccepted")), links: actionLinks() },
        ...BAD_REQUEST,
        ...BODY_ERRORS,
        "409": problem("No dead-letter queue is configured (MEDIA_DLQ_URL)."),
        ...API_ERRORS,
      },
    },
  },
  "/api/media/queues": {
    get: {
      summary: "Queue depths (media, DLQ, intake, each lane) and jobs per status now",
      operationId: "queues",
      "x-required-scope": "read",
      responses: {
        "200": {
          description: "Depths; null where a queue is unreadable or not configured.",
          content: json(ref("Queues")),
        },
        ...API_ERRORS,
      },
    },
  },
  "/api/media/workers": {
    get: {
      summary: "Live workers and the jobs each is processing",
      operationId: "workers",
      "x-required-scope": "read",
      responses: { "200": { description: "Workers.", content: json(ref("Workers")) }, ...API_ERRORS },
    },
  },
  "/api/media/actions": {
    get: {
      summary: "Recent background actions, newest first",
      operationId: "listActions",
      "x-required-scope": "read",
      responses: {
        "200": {
          description: "Actions of the last day (a tenant-limited token sees its own).",
          content: json(ref("ActionList")),
        },
        ...API_ERRORS,
      },
    },
  },
  "/api/media/actions/{id}": {
    parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", pattern: ACTION_ID_PATTERN } }],
    get: {
      summary: "A background action and its progress",
      operationId: "getAction",
      "x-required-scope": "read",
      responses: {
        "200": { description: "The action.", content: json(ref("ActionAccepted")) },
        ...BAD_REQUEST,
        "404": problem("No such action (they are kept for a day)."),
        ...API_ERRORS,
      },
    },
  },
};

// Every /api operation names the scope it needs: reads need `read`, changes `operate`, unless stated.
for (const [path, item] of Object.entries(paths)) {
  if (!path.startsWith("/api/")) continue;
  for (const [method, operation] of Object.entries(item as Record<string, Record<string, unknown>>)) {
    if (method === "parameters") continue;
    operation["x-required-scope"] ??= method === "get" ? "read" : "operate";
  }
}

function actionLinks() {
  return { getAction: { operationId: "getAction", parameters: { id: "$response.body#/action/id" } } };
}

function retryResponses() {
  return {
    "202": {
      description: "Requeued and sent to the media queue.",
      content: json(ref("RetryResult")),
      links: jobLinks("$response.body#/job/id"),
    },
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
    description:
      "Jobs of the media-processor worker fleet: list and search, inspect, retry, cancel, bulk actions, stats, queues, workers, DLQ peek and redrive. Errors are application/problem+json (RFC 9457). Tokens have a scope (read < operate < admin, named per operation in x-required-scope) and may be limited to one tenant; every change records the token's id on the job's timeline and in an audit log line.",
  },
  servers: [{ url: "/" }],
  security: [{ bearerAuth: [] }],
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: "API_TOKEN (admin) or one of API_TOKENS (id:scope[@tenant]:token).",
      },
    },
    schemas: { ...schemas, ...mediaSchemas },
  },
  paths,
} as const;

/** Methods served on each path (for 405 answers with an Allow header). */
export function allowedMethods(): Map<string, string[]> {
  const methods = new Map<string, string[]>();
  for (const [path, item] of Object.entries(paths)) {
    methods.set(
      path.replace(/\{(\w+)\}/g, ":$1"),
      Object.keys(item)
        .filter((key) => key !== "parameters")
        .map((method) => method.toUpperCase()),
    );
  }
  return methods;
}
