import { JOB_STATUSES } from "../jobs/job.model.ts";
import { JOB_EVENT_TYPES } from "../job-events/job-event.ts";
import {
  CONTENT_TYPE_PATTERN,
  HLS_FILE_PATTERN,
  KEY_MAX_LENGTH,
  LIST_LIMIT,
  MAX_PART_NUMBER,
  OWNER_PATTERN,
  PART_URLS_MAX,
  UPLOAD_ID_MAX_LENGTH,
  VARIANT_PATTERN,
} from "./validation.ts";

/**
 * The OpenAPI part of the application surface (routes/media.routes.ts), merged into the one
 * document by openapi.ts. Same conventions: every limit imported from validation.ts.
 */

type Schema = Record<string, unknown>;
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ "application/json": { schema } });
const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ref("Problem") } },
});
const dateTime = { type: "string", format: "date-time" };
const nullableString = { type: ["string", "null"] };

const ERRORS = {
  "400": problem("A parameter or the body is invalid; `errors` names each field."),
  "401": problem("Missing or invalid bearer token."),
  "403": problem("The token's scope does not allow this, or it is limited to another tenant."),
  "503": problem("Redis, S3 or SQS did not answer; try again (Retry-After)."),
};
const BODY_ERRORS = {
  "413": problem(
    "The body is larger than API_BODY_LIMIT_BYTES, or the upload is larger than MAX_INPUT_BYTES (`upload-too-large`).",
  ),
  "415": problem("The body is not JSON."),
};
const S3_ERROR = { "502": problem("S3 or SQS refused the request.") };
const NO_ITEM = { "404": problem("No job for this key: not confirmed yet, deleted, expired, or another tenant's.") };

const keyParameter = {
  name: "key",
  in: "query",
  required: true,
  schema: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
  description: "The source key, as POST /api/media/uploads returned it.",
};
const owner = { type: "string", pattern: OWNER_PATTERN };
const contentType = { type: "string", pattern: CONTENT_TYPE_PATTERN, example: "video/mp4" };
const filename = { type: "string", minLength: 1, maxLength: 255, example: "holiday.mp4" };
const size = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const uploadId = { type: "string", minLength: 1, maxLength: UPLOAD_ID_MAX_LENGTH };
const partNumber = { type: "integer", minimum: 1, maximum: MAX_PART_NUMBER };
const partUrls = {
  type: "array",
  items: { type: "object", required: ["partNumber", "url"], properties: { partNumber, url: { type: "string" } } },
};
const urlTriple = (names: string[]) => ({
  type: "object",
  required: names,
  properties: Object.fromEntries(names.map((name) => [name, nullableString])),
});

const deliveryIdParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", pattern: "^[0-9a-f]{32}$" },
  description: "Delivery id: derived from the event id and the endpoint id.",
};

export const mediaSchemas: Record<string, Schema> = {
  WebhookDelivery: {
    type: "object",
    required: ["id", "eventId", "eventType", "endpoint", "state", "attempts", "replays", "createdAt"],
    properties: {
      id: { type: "string" },
      eventId: {
        type: "string",
        description: "The job event's id: the same in every attempt and replay (receivers deduplicate on it).",
      },
      eventType: {
        type: "string",
        enum: [...JOB_EVENT_TYPES],
        description:
          "The job event delivered: media.job.completed, media.job.failed or media.job.cancelled. A `playable` event (a video's first rung ready) does not exist yet; it will be added here when it does.",
      },
      endpoint: { type: "string" },
      tenantId: { type: "string" },
      state: { type: "string", enum: ["pending", "delivered", "failed"] },
      attempts: { type: "integer" },
      replays: { type: "integer" },
      createdAt: dateTime,
      nextAt: dateTime,
      lastAttemptAt: dateTime,
      lastStatus: { type: "integer" },
      lastError: { type: "string" },
      deliveredAt: dateTime,
    },
  },
  UploadRequest: {
    type: "object",
    additionalProperties: false,
    required: ["contentType", "filename"],
    properties: {
      contentType,
      filename,
      size: {
        ...size,
        description: "Declared size; refused over MAX_INPUT_BYTES. With PUT it is signed (S3 refuses another length).",
      },
      tenantId: {
        ...owner,
        description:
          "Required when TENANT_KEY_PATTERN has {tenant}; a tenant-limited token's own tenant is used (another is refused).",
      },
      userId: { ...owner, description: "Required when TENANT_KEY_PATTERN has {user}." },
      method: {
        type: "string",
        enum: ["POST", "PUT"],
        description:
          "POST (default): a form upload whose policy S3 enforces (content-length-range up to MAX_INPUT_BYTES). PUT: a presigned PUT.",
      },
    },
  },
  UploadInstructions: {
    type: "object",
    required: ["key", "method", "uploadUrl", "headers", "expiresIn", "maxBytes", "confirmUrl"],
    properties: {
      key: { type: "string", description: "Built by the server: `{tenant layout}{epoch s}-{random}-{safe filename}`." },
      method: { type: "string", enum: ["POST", "PUT"] },
      uploadUrl: { type: "string" },
      fields: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "POST: form fields to send before the `file` field (which must be last).",
      },
      headers: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "Headers the upload must carry.",
      },
      expiresIn: { type: "integer", description: "Seconds (API_UPLOAD_EXPIRY)." },
      maxBytes: { type: "integer" },
      confirmUrl: { type: "string" },
    },
  },
  MultipartCreateRequest: {
    type: "object",
    additionalProperties: false,
    required: ["contentType", "filename", "size"],
    properties: { contentType, filename, size, tenantId: owner, userId: owner },
  },
  MultipartUpload: {
    type: "object",
    required: ["key", "uploadId", "partBytes", "partCount", "parts", "expiresIn"],
    properties: {
      key: { type: "string" },
      uploadId: { type: "string" },
      partBytes: { type: "integer", description: "Every part but the last has exactly this size." },
      partCount: { type: "integer" },
      parts: {
        ...partUrls,
        description: `Presigned PUT URLs of the first ${PART_URLS_MAX} parts; ask /parts for the others.`,
      },
      expiresIn: { type: "integer" },
    },
  },
  MultipartPartsRequest: {
    type: "object",
    additionalProperties: false,
    required: ["key", "uploadId", "partNumbers"],
    properties: {
      key: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
      uploadId,
      partNumbers: { type: "array", minItems: 1, maxItems: PART_URLS_MAX, items: partNumber },
    },
  },
  MultipartParts: {
    type: "object",
    required: ["key", "uploadId", "parts", "expiresIn"],
    properties: {
      key: { type: "string" },
      uploadId: { type: "string" },
      parts: partUrls,
      expiresIn: { type: "integer" },
    },
  },
  MultipartCompleteRequest: {
    type: "object",
    additionalProperties: false,
    required: ["key", "uploadId", "parts"],
    properties: {
      key: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH },
      uploadId,
      parts: {
        type: "array",
        minItems: 1,
        maxItems: MAX_PART_NUMBER,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["partNumber", "eTag"],
          properties: { partNumber, eTag: { type: "string", minLength: 1, maxLength: 128 } },
        },
      },
    },
  },
  MultipartAbortRequest: {
    type: "object",
    additionalProperties: false,
    required: ["key", "uploadId"],
    properties: { key: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH }, uploadId },
  },
  ConfirmRequest: {
    type: "object",
    additionalProperties: false,
    required: ["key"],
    properties: { key: { type: "string", minLength: 1, maxLength: KEY_MAX_LENGTH } },
  },
  ConfirmResult: {
    type: "object",
    required: ["key", "enqueued", "job"],
    properties: {
      key: { type: "string" },
      enqueued: { type: "boolean", description: "True when this confirm created the job." },
      job: {
        oneOf: [
          { type: "null" },
          {
            type: "object",
            required: ["id", "status"],
            properties: { id: { type: "string" }, status: { type: "string", enum: [...JOB_STATUSES] } },
          },
        ],
        description: "Null with API_UPLOAD_NOTIFICATIONS until the bucket's notification created the job.",
      },
    },
  },
  MediaItem: {
    type: "object",
    required: ["key", "bucket", "jobId", "type", "status", "progress", "createdAt", "outputs", "manifest"],
    properties: {
      key: { type: "string" },
      bucket: { type: "string" },
      jobId: { type: "string" },
      type: { type: "string" },
      status: { type: "string", enum: [...JOB_STATUSES] },
      progress: { type: "number" },
      tenantId: { type: "string" },
      userId: { type: "string" },
      error: ref("JobError"),
      createdAt: dateTime,
      finishedAt: dateTime,
      outputs: {
        type: "array",
        description:
          "CDN_BASE_URL URLs, or presigned GETs valid API_PRESIGN_EXPIRY. HLS segments and rung playlists are reached through the master.",
        items: {
          type: "object",
          required: ["key", "variant", "contentType", "url"],
          properties: {
            key: { type: "string" },
            variant: { type: "string" },
            contentType: { type: "string" },
            bytes: { type: "number" },
            width: { type: "number" },
            height: { type: "number" },
            durationSec: { type: "number" },
            url: { type: "string" },
          },
        },
      },
      manifest: {
        oneOf: [
          { type: "null" },
          {
            type: "object",
            required: ["key", "url"],
            properties: { key: { type: "string" }, url: { type: "string" } },
          },
        ],
      },
    },
  },
  MediaItemList: {
    type: "object",
    required: ["items", "nextCursor"],
    properties: {
      items: {
        type: "array",
        items: {
          type: "object",
          required: ["key", "jobId", "type", "status", "progress", "createdAt"],
          properties: {
            key: { type: "string" },
            jobId: { type: "string" },
            type: { type: "string" },
            status: { type: "string", enum: [...JOB_STATUSES] },
            progress: { type: "number" },
            createdAt: dateTime,
            finishedAt: dateTime,
          },
        },
      },
      nextCursor: nullableString,
    },
  },
  Playback: {
    type: "object",
    required: [
      "key",
      "jobId",
      "status",
      "kind",
      "playback",
      "hls",
      "mp4",
      "original",
      "poster",
      "storyboard",
      "durationSec",
      "width",
      "height",
      "aspectRatio",
      "waveform",
      "pages",
      "thumbnails",
    ],
    properties: {
      key: { type: "string" },
      jobId: { type: "string" },
      status: { type: "string", enum: [...JOB_STATUSES] },
      kind: { type: "string" },
      playback: {
        type: "object",
        required: ["type", "url"],
        description:
          "What to play now: the original while a video is processed, HLS once ready (MP4 without a ladder).",
        properties: { type: { type: "string", enum: ["hls", "mp4", "original", "none"] }, url: nullableString },
      },
      hls: { ...nullableString, description: "Master playlist: the stream route (relative to this API) or the CDN." },
      mp4: nullableString,
      original: nullableString,
      poster: nullableString,
      storyboard: urlTriple(["vtt", "sprite"]),
      durationSec: { type: ["number", "null"] },
      width: { type: ["number", "null"] },
      height: { type: ["number", "null"] },
      aspectRatio: { type: ["number", "null"] },
      waveform: urlTriple(["json", "dat", "png"]),
      pages: {
        type: "array",
        items: {
          type: "object",
          required: ["page", "url"],
          properties: { page: { type: "integer" }, url: { type: "string" } },
        },
      },
      thumbnails: {
        type: "array",
        items: {
          type: "object",
          required: ["variant", "url"],
          properties: {
            variant: { type: "string" },
            url: { type: "string" },
            width: { type: "number" },
            height: { type: "number" },
          },
        },
      },
    },
  },
  MediaDeleted: {
    type: "object",
    required: ["key", "deleted"],
    properties: {
      key: { type: "string" },
      deleted: {
        type: "object",
        required: ["jobs", "outputs", "source"],
        properties: { jobs: { type: "integer" }, outputs: { type: "integer" }, source: { type: "boolean" } },
      },
    },
  },
};

const post = (
  operationId: string,
  summary: string,
  description: string,
  body: string,
  responses: Record<string, unknown>,
) => ({
  post: {
    summary,
    description,
    operationId,
    "x-required-scope": "operate",
    requestBody: { required: true, content: json(ref(body)) },
    responses: { ...responses, ...BODY_ERRORS, ...S3_ERROR, ...ERRORS },
  },
});
/** Playback routes need a read token like every /api route; API_PLAYBACK_PUBLIC=true serves them without one (documented here as the default). */
const playbackSecurity = [{ bearerAuth: [] }];

/**
 * Signed delivery (DELIVERY_SIGNING_KEYS): the two parameters a signed URL carries. They are
 * ignored while signing is off; with it on, a request carrying them is served only if they verify.
 */
const SIGNED_ACCESS =
  " With DELIVERY_SIGNING_KEYS set, a request with a valid `expires` and `sig` needs no token (a request without them needs one even with API_PLAYBACK_PUBLIC), and an expired or forged signature is a 403 (`signature-expired`, `signature-invalid`) whatever token comes with it.";
const signatureParameters = [
  {
    name: "expires",
    in: "query",
    schema: { type: "integer", minimum: 0, maximum: 999_999_999_999 },
    description:
      "Signed delivery: when the URL expires, in unix seconds. Part of the URLs this API hands out; ignored while DELIVERY_SIGNING_KEYS is unset.",
  },
  {
    name: "sig",
    in: "query",
    schema: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$" },
    description:
      "Signed delivery: base64url HMAC-SHA256 of the path, the other query parameters (sorted) and `expires` (README, Signed delivery). Ignored while DELIVERY_SIGNING_KEYS is unset.",
  },
];
const SIGNED_ERRORS = {
  ...ERRORS,
  "403": problem(
    "The token's scope or tenant does not allow this, or the URL's signature is expired (`signature-expired`), does not match (`signature-invalid`), or is required (`signature-required`).",
  ),
};

export const mediaPaths = {
  "/api/media/webhooks/deliveries": {
    get: {
      summary: "The newest webhook deliveries (for the dashboard)",
      operationId: "listWebhookDeliveries",
      "x-required-scope": "read",
      parameters: [
        { name: "state", in: "query", schema: { type: "string", enum: ["pending", "delivered", "failed"] } },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 200, default: 50 } },
      ],
      responses: {
        "200": {
          description: "Newest first.",
          content: json({
            type: "object",
            required: ["enabled", "deliveries"],
            properties: { enabled: { type: "boolean" }, deliveries: { type: "array", items: ref("WebhookDelivery") } },
          }),
        },
        ...ERRORS,
      },
    },
  },
  "/api/media/webhooks/deliveries/{id}": {
    parameters: [deliveryIdParameter],
    get: {
      summary: "One webhook delivery",
      operationId: "getWebhookDelivery",
      "x-required-scope": "read",
      responses: {
        "200": {
          description: "The delivery.",
          content: json({ type: "object", required: ["delivery"], properties: { delivery: ref("WebhookDelivery") } }),
        },
        "404": problem("No such delivery, or webhooks are off."),
        ...ERRORS,
      },
    },
  },
  "/api/media/webhooks/deliveries/{id}/replay": {
    parameters: [deliveryIdParameter],
    post: {
      summary: "Deliver a webhook again (same event id and body, a fresh signature)",
      operationId: "replayWebhookDelivery",
      "x-required-scope": "operate",
      responses: {
        "202": {
          description: "Scheduled now.",
          content: json({ type: "object", required: ["delivery"], properties: { delivery: ref("WebhookDelivery") } }),
        },
        "404": problem("No such delivery, or webhooks are off."),
        ...ERRORS,
      },
    },
  },
  "/api/media/uploads": post(
    "createUpload",
    "A presigned upload URL for a new media item",
    "The server builds the key under the tenant layout. POST (default) returns a form policy S3 enforces (content-length-range 1..MAX_INPUT_BYTES, the Content-Type); PUT a presigned PUT. Upload, then confirm.",
    "UploadRequest",
    { "201": { description: "Where and how to upload.", content: json(ref("UploadInstructions")) } },
  ),
  "/api/media/uploads/multipart": post(
    "createMultipartUpload",
    "Start a multipart upload (large files)",
    "Creates the upload and returns presigned part URLs; PUT each part, keep each response's ETag, then complete.",
    "MultipartCreateRequest",
    { "201": { description: "The upload and its first part URLs.", content: json(ref("MultipartUpload")) } },
  ),
  "/api/media/uploads/multipart/parts": post(
    "multipartPartUrls",
    "More (or fresh) part URLs of a multipart upload",
    "",
    "MultipartPartsRequest",
    {
      "200": { description: "Presigned part URLs.", content: json(ref("MultipartParts")) },
    },
  ),
  "/api/media/uploads/multipart/complete": post(
    "completeMultipartUpload",
    "Complete a multipart upload and confirm it",
    "Like /confirm once S3 assembled the object.",
    "MultipartCompleteRequest",
    {
      "200": { description: "Confirmed; the job existed already.", content: json(ref("ConfirmResult")) },
      "202": {
        description: "Confirmed; the job was enqueued (or awaits the bucket's notification).",
        content: json(ref("ConfirmResult")),
      },
      "404": problem("No such multipart upload, or nothing at the key."),
    },
  ),
  "/api/media/uploads/multipart/abort": post(
    "abortMultipartUpload",
    "Abort a multipart upload",
    "Idempotent.",
    "MultipartAbortRequest",
    { "204": { description: "Aborted (or nothing to abort)." } },
  ),
  "/api/media/uploads/confirm": post(
    "confirmUpload",
    "Confirm an upload: its job is enqueued at once",
    "Checks the object exists and is within MAX_INPUT_BYTES. Without API_UPLOAD_NOTIFICATIONS the confirm enqueues the job (confirming twice gives the same job). With it, the bucket's notification enqueues it (one upload, one job) and the confirm answers with that job once it exists (null before); a versioned object is enqueued at once either way, its version id naming the same job.",
    "ConfirmRequest",
    {
      "200": { description: "The job existed already.", content: json(ref("ConfirmResult")) },
      "202": {
        description: "Enqueued (or awaiting the bucket's notification: job null).",
        content: json(ref("ConfirmResult")),
      },
      "404": problem("Nothing was uploaded to the key."),
    },
  ),
  "/api/media/item": {
    get: {
      summary: "A media item by key: its latest upload's status, progress, error and outputs",
      operationId: "getMediaItem",
      "x-required-scope": "read",
      parameters: [keyParameter],
      responses: { "200": { description: "The item.", content: json(ref("MediaItem")) }, ...NO_ITEM, ...ERRORS },
    },
    delete: {
      summary: "Delete a media item with everything derived from it",
      description:
        "Cancels a queued or running job of the key first and waits (up to 30 s) until it stopped, then removes every output of every run, the manifest, the source (unless keepSource=true) and the job records. Idempotent: a second delete deletes nothing and answers 200.",
      operationId: "deleteMediaItem",
      "x-required-scope": "operate",
      parameters: [
        keyParameter,
        { name: "keepSource", in: "query", schema: { type: "string", enum: ["true", "false"] } },
      ],
      responses: {
        "200": { description: "Deleted (counts of what was there).", content: json(ref("MediaDeleted")) },
        "404": problem("The key is another tenant's."),
        "409": problem("A job is still stopping after its cancel; delete again (Retry-After)."),
        ...S3_ERROR,
        ...ERRORS,
      },
    },
  },
  "/api/media/items": {
    get: {
      summary: "A tenant's or user's media items, in key order (upload time within a user)",
      operationId: "listMediaItems",
      "x-required-scope": "read",
      parameters: [
        { name: "tenant", in: "query", schema: owner },
        {
          name: "user",
          in: "query",
          schema: owner,
          description: "Only with tenant (the layout puts users under tenants).",
        },
        {
          name: "limit",
          in: "query",
          schema: { type: "integer", minimum: LIST_LIMIT.min, maximum: LIST_LIMIT.max, default: LIST_LIMIT.fallback },
        },
        {
          name: "cursor",
          in: "query",
          schema: { type: "string", pattern: "^k[A-Za-z0-9_-]{1,2800}$" },
          description: "nextCursor of the previous page.",
        },
      ],
      responses: { "200": { description: "A page of items.", content: json(ref("MediaItemList")) }, ...ERRORS },
    },
  },
  "/api/media/item/playback": {
    get: {
      summary: "Playback info of a media item",
      description: `With signed delivery every URL in the answer (but \`original\`, a presigned S3 GET) is a signed URL of the output or stream route.${SIGNED_ACCESS}`,
      operationId: "getPlayback",
      "x-required-scope": "read",
      security: playbackSecurity,
      parameters: [keyParameter, ...signatureParameters],
      responses: {
        "200": { description: "Playback info.", content: json(ref("Playback")) },
        ...NO_ITEM,
        ...SIGNED_ERRORS,
      },
    },
  },
  "/api/media/item/output": {
    get: {
      summary: "Redirect (302) to one output of a media item",
      description: `A signed request is redirected to a target that expires with it (a presigned GET, or a CDN URL signed over its own path).${SIGNED_ACCESS}`,
      operationId: "redirectToOutput",
      "x-required-scope": "read",
      security: playbackSecurity,
      parameters: [
        keyParameter,
        {
          name: "variant",
          in: "query",
          required: true,
          schema: { type: "string", pattern: VARIANT_PATTERN },
          description: "thumb_small, poster, web_mp4, waveform_png, page_1, …",
        },
        ...signatureParameters,
      ],
      responses: {
        "302": { description: "To the CDN or a presigned GET (hls_master: to the stream route)." },
        "404": problem("No such item, or no such output (yet)."),
        ...SIGNED_ERRORS,
      },
    },
  },
  "/api/media/item/stream": {
    get: {
      summary: "HLS of a media item: playlists proxied, segments redirected",
      description: `Playlists are served with their URIs pointed back at this route, so relative URIs keep working; segments answer 302 to S3 or the CDN (the bucket needs CORS for browser players). With signed delivery every URI in a served playlist (segments, init segments, media and I-frame playlists) carries its own signature and the playlist's expiry.${SIGNED_ACCESS}`,
      operationId: "streamMediaItem",
      "x-required-scope": "read",
      security: playbackSecurity,
      parameters: [
        keyParameter,
        { name: "file", in: "query", required: true, schema: { type: "string", pattern: HLS_FILE_PATTERN } },
        ...signatureParameters,
      ],
      responses: {
        "200": {
          description: "A playlist.",
          content: { "application/vnd.apple.mpegurl": { schema: { type: "string" } } },
        },
        "302": { description: "A segment: to S3 or the CDN." },
        "404": problem("No such item, no ladder (yet), or no such playlist."),
        ...S3_ERROR,
        ...SIGNED_ERRORS,
      },
    },
  },
};
