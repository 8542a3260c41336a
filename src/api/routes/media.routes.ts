import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Router, type Request, type RequestHandler, type Response } from "express";
import { fromAwsError } from "../../errors.ts";
import { compileTenantPattern } from "../../s3-events/key-rules.ts";
import { buildS3Notification } from "../../s3-events/s3-event.parser.ts";
import { jobIdFor } from "../../jobs/job.model.ts";
import { ObjectStore } from "../../storage/object-store.ts";
import type { ApiDeps } from "../api-deps.ts";
import { bearerAuth, canSeeTenant, principalOf, requireScope, type Principal } from "../auth.ts";
import { audit } from "../audit.ts";
import { rewritePlaylist } from "../hls-playlist.ts";
import { deleteMediaItem } from "../media/media-delete.ts";
import { hlsFolder, itemOf, latestJobOf, resultOf } from "../media/media-items.ts";
import { EXPIRES_PARAM, SIGNATURE_PARAM, signedQuery, verifyDeliveryUrl } from "../media/delivery-signature.ts";
import {
  issuedExpiry,
  objectUrl,
  signedOrPlain,
  streamRouteUrl,
  type DeliverySigning,
  type OutputUrlSigner,
} from "../media/output-urls.ts";
import { playbackOf } from "../media/playback.ts";
import { buildUploadKey, ownerProblem } from "../media/upload-keys.ts";
import {
  abortMultipart,
  completeMultipart,
  confirmEnqueues,
  createMultipart,
  headUpload,
  partPlan,
  presignParts,
  presignPost,
  presignPut,
  type UploadTarget,
} from "../media/uploads.ts";
import { badRequest, HttpProblem, notFound } from "../problem.ts";
import {
  confirmBody,
  emptyQuery,
  itemDeleteQuery,
  itemListQuery,
  itemOutputQuery,
  itemQuery,
  itemStreamQuery,
  keyCursor,
  multipartAbortBody,
  multipartCompleteBody,
  multipartCreateBody,
  multipartPartsBody,
  parseCursor,
  parseRequest,
  uploadBody,
} from "../validation.ts";

/** A delete waits this long for a running job to stop after its cancel before answering 409. */
const DELETE_WAIT_MS = 30_000;

/**
 * The application surface: upload URLs and confirm, media items by key, playback info, outputs
 * (302) and the HLS stream, delete. Applications know keys, not job ids; every route finds the
 * key's newest job in the store's key index. Uploads and deletes need `operate`, reads `read`.
 */
export function mediaRoutes(deps: ApiDeps): { authenticated: Router; playback: Router } {
  const authenticated = Router();
  const playback = Router();
  const { config, store } = deps;
  const ownerOf = compileTenantPattern(config.storage.tenantKeyPattern);
  const objects = new ObjectStore(deps.s3);
  const bucket = config.storage.sourceBuckets[0]!;
  const target: UploadTarget = {
    s3: deps.s3,
    presigner: deps.presigner,
    bucket,
    maxBytes: config.storage.maxInputBytes,
    expiresInSec: config.api.uploadExpirySec,
  };
  const delivery: DeliverySigning | undefined =
    config.api.delivery.signingKeys.length > 0
      ? { keys: config.api.delivery.signingKeys, ttlSec: config.api.delivery.urlTtlSec }
      : undefined;
  const signer: OutputUrlSigner = {
    presigner: deps.presigner,
    cdnBaseUrl: config.storage.cdnBaseUrl,
    expiresInSec: config.api.presignExpirySec,
    delivery,
  };
  const access = playbackAccess(delivery, bearerAuth(config.api.tokens), config.api.tokens.length > 0);

  /** The key's owner must be visible to the token; a foreign key is a 404 like a missing one. */
  const visibleKey = (principal: Principal, key: string) => {
    if (!canSeeTenant(principal, ownerOf(key).tenantId)) throw notFound(`no media item ${key}`);
  };
  /** Keys the client hands back (confirm, multipart) must be keys this API builds: under the tenant layout of a tenant the token may use. */
  const uploadedKey = (principal: Principal, key: string) => {
    const owner = ownerOf(key);
    const segments = key.split("/");
    if (
      ownerProblem(config.storage.tenantKeyPattern, owner) !== undefined ||
      segments.includes("..") ||
      segments.slice(0, -1).includes(config.storage.outputSegment)
    ) {
      throw badRequest(`${key} is not an upload key of this deployment`);
    }
    visibleKey(principal, key);
  };
  const latestVisible = async (principal: Principal, key: string) => {
    visibleKey(principal, key);
    const summary = await latestJobOf(store, key);
    const job = summary ? await store.get(summary.id) : undefined;
    if (!job) throw notFound(`no media item ${key} (not confirmed yet, deleted, or expired after JOB_STATUS_TTL)`);
    return job;
  };
  const ownerFor = (principal: Principal, body: { tenantId?: string | undefined; userId?: string | undefined }) => {
    if (principal.tenant !== undefined && body.tenantId !== undefined && body.tenantId !== principal.tenant) {
      throw new HttpProblem(
        403,
        "tenant-scoped-token",
        `token ${principal.id} is limited to tenant ${principal.tenant}`,
      );
    }
    const owner = { tenantId: principal.tenant ?? body.tenantId, userId: body.userId };
    const problem = ownerProblem(config.storage.tenantKeyPattern, owner);
    if (problem) throw badRequest(problem);
    return owner;
  };
  const sizeCheck = (size: number | undefined) => {
    if (size !== undefined && size > target.maxBytes)
      throw new HttpProblem(
        413,
        "upload-too-large",
        `the upload declares ${size} bytes; the largest processed is ${target.maxBytes} (MAX_INPUT_BYTES)`,
        { maxBytes: target.maxBytes },
      );
  };

  authenticated.post("/api/media/uploads", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(uploadBody, request.body ?? {}, "body");
    sizeCheck(body.size);
    const key = buildUploadKey(config.storage.tenantKeyPattern, ownerFor(principal, body), body.filename, Date.now());
    const upload =
      body.method === "PUT"
        ? await presignPut(target, key, body.contentType, body.size)
        : await presignPost(target, key, body.contentType);
    audit(deps.logger, principal, "upload-url", { key, method: upload.method });
    response.status(201).json({ ...upload, confirmUrl: "/api/media/uploads/confirm" });
  });

  authenticated.post("/api/media/uploads/multipart", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(multipartCreateBody, request.body ?? {}, "body");
    sizeCheck(body.size);
    const key = buildUploadKey(config.storage.tenantKeyPattern, ownerFor(principal, body), body.filename, Date.now());
    const uploadId = await createMultipart(target, key, body.contentType);
    const plan = partPlan(body.size);
    const first = Array.from({ length: Math.min(plan.partCount, 100) }, (_, index) => index + 1);
    audit(deps.logger, principal, "multipart-upload", { key, parts: plan.partCount });
    response.status(201).json({
      key,
      uploadId,
      partBytes: plan.partBytes,
      partCount: plan.partCount,
      parts: await presignParts(target, key, uploadId, first),
      expiresIn: target.expiresInSec,
    });
  });

  authenticated.post("/api/media/uploads/multipart/parts", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(multipartPartsBody, request.body ?? {}, "body");
    uploadedKey(principal, body.key);
    response.json({
      key: body.key,
      uploadId: body.uploadId,
      parts: await presignParts(target, body.key, body.uploadId, [...new Set(body.partNumbers)]),
      expiresIn: target.expiresInSec,
    });
  });

  authenticated.post("/api/media/uploads/multipart/complete", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(multipartCompleteBody, request.body ?? {}, "body");
    uploadedKey(principal, body.key);
    const outcome = await completeMultipart(target, body.key, body.uploadId, body.parts);
    if (outcome === "no-such-upload") throw notFound(`no multipart upload ${body.uploadId} for ${body.key}`);
    if (outcome === "invalid-part")
      throw badRequest(
        "S3 refused the parts: each must be uploaded, name its ETag, and all but the last be at least 5 MiB",
      );
    await confirm(request, response, body.key, principal);
  });

  authenticated.post("/api/media/uploads/multipart/abort", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const body = parseRequest(multipartAbortBody, request.body ?? {}, "body");
    uploadedKey(principal, body.key);
    await abortMultipart(target, body.key, body.uploadId);
    response.status(204).end();
  });

  authenticated.post("/api/media/uploads/confirm", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    parseRequest(emptyQuery, request.query, "query");
    const { key } = parseRequest(confirmBody, request.body ?? {}, "body");
    uploadedKey(principal, key);
    await confirm(request, response, key, principal);
  });

  /** The object exists and is within MAX_INPUT_BYTES → its job (enqueued here or by the bucket's notification: confirmEnqueues). */
  async function confirm(_request: Request, response: Response, key: string, principal: Principal): Promise<void> {
    const stored = await headUpload(target, key);
    if (!stored) throw notFound(`nothing was uploaded to ${key} (or the upload has not finished)`);
    if (stored.size > target.maxBytes) {
      throw new HttpProblem(
        413,
        "upload-too-large",
        `the upload is ${stored.size} bytes; the largest processed is ${target.maxBytes} (MAX_INPUT_BYTES)`,
        { maxBytes: target.maxBytes, size: stored.size },
      );
    }
    if (!confirmEnqueues(config.api.uploadNotifications, stored.versionId)) {
      const existing = (await latestJobOf(store, key)) ?? undefined;
      const same = existing && existing.source.eTag === stored.eTag ? existing : undefined;
      response
        .status(same ? 200 : 202)
        .json({ key, enqueued: false, job: same ? { id: same.id, status: same.status } : null });
      return;
    }
    // Confirmed before: the job exists under the id this upload maps to; nothing is sent again.
    const known = await store.summary(
      jobIdFor({
        bucket,
        key,
        ...(stored.eTag ? { eTag: stored.eTag } : {}),
        ...(stored.versionId ? { versionId: stored.versionId } : {}),
      }),
    );
    if (known) {
      response.status(200).json({ key, enqueued: false, job: { id: known.id, status: known.status } });
      return;
    }
    // What S3 would send, without the sequencer only S3 knows.
    const event: unknown = JSON.parse(
      buildS3Notification([
        {
          bucket,
          key,
          size: stored.size,
          ...(stored.eTag ? { eTag: stored.eTag } : {}),
          ...(stored.versionId ? { versionId: stored.versionId } : {}),
        },
      ]),
    );
    const outcome = await deps.actions.enqueueEvent(event, principal);
    if (outcome.kind !== "enqueued") throw badRequest(`${key} is not processed by this deployment (${outcome.kind})`);
    const job = outcome.jobs[0]!;
    // This confirm sent the message; a worker may have received it and created the record first.
    response.status(202).json({ key, enqueued: true, job: { id: job.id, status: job.status } });
  }

  authenticated.get("/api/media/item", async (request, response) => {
    const { key } = parseRequest(itemQuery, request.query, "query");
    const job = await latestVisible(principalOf(response), key);
    response.json(await itemOf(job, signer, config.storage.outputBucket));
  });

  authenticated.get("/api/media/items", async (request, response) => {
    const principal = principalOf(response);
    const query = parseRequest(itemListQuery, request.query, "query");
    const tenantId = principal.tenant ?? query.tenant;
    if (principal.tenant !== undefined && query.tenant !== undefined && query.tenant !== principal.tenant)
      throw new HttpProblem(
        403,
        "tenant-scoped-token",
        `token ${principal.id} is limited to tenant ${principal.tenant}`,
      );
    const keyPrefix = ownerPrefix(config.storage.tenantKeyPattern, tenantId, query.user);
    const cursor = query.cursor ? parseCursor(query.cursor) : undefined;
    const page = await store.searchByKey({
      keyPrefix,
      limit: query.limit,
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(cursor?.kind === "key" ? { after: cursor.after } : {}),
    });
    response.json({
      items: page.jobs.map((job) => ({
        key: job.source.key,
        jobId: job.id,
        type: job.type,
        status: job.status,
        progress: job.progress,
        createdAt: job.createdAt,
        ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}),
      })),
      nextCursor: page.resumeAfter !== undefined ? keyCursor(page.resumeAfter) : null,
    });
  });

  authenticated.delete("/api/media/item", async (request, response) => {
    const principal = principalOf(response);
    requireScope(principal, "operate");
    const { key, keepSource } = parseRequest(itemDeleteQuery, request.query, "query");
    // Only keys of the upload layout: a delete never reaches outputs or other objects by their own keys.
    uploadedKey(principal, key);
    const outcome = await deleteMediaItem(
      {
        store,
        actions: deps.actions,
        objects,
        outputSegment: config.storage.outputSegment,
        outputBucket: config.storage.outputBucket,
        waitMs: DELETE_WAIT_MS,
      },
      bucket,
      key,
      !keepSource,
      principal,
    );
    if (outcome.kind === "still-running") {
      throw new HttpProblem(
        409,
        "delete-pending",
        "a job of this item is still stopping after its cancel; delete again in a moment",
        { jobIds: outcome.jobIds },
        { "retry-after": "5" },
      );
    }
    audit(deps.logger, principal, "media-delete", { key, ...outcome });
    response.json({ key, deleted: { jobs: outcome.jobs, outputs: outcome.outputs, source: outcome.source } });
  });

  // ---- playback: token-protected, or public with API_PLAYBACK_PUBLIC ----

  playback.get("/api/media/item/playback", access, async (request, response) => {
    const { key } = parseRequest(itemQuery, unsigned(request.query), "query");
    const job = await latestVisible(principalOf(response), key);
    // A playback-info URL an app signed for its player hands out URLs that expire with it.
    const until = signedUntil(response);
    const answerSigner =
      delivery && until !== undefined ? { ...signer, delivery: { ...delivery, expiresAtSec: until } } : signer;
    response.json(
      await playbackOf(job, {
        signer: answerSigner,
        outputBucket: config.storage.outputBucket,
        streamUrl: (file) => streamRouteUrl(key, file),
      }),
    );
  });

  playback.get("/api/media/item/output", access, async (request, response) => {
    const { key, variant } = parseRequest(itemOutputQuery, unsigned(request.query), "query");
    const job = await latestVisible(principalOf(response), key);
    const output = resultOf(job)?.outputs.find((candidate) => candidate.variant === variant);
    if (job.status !== "completed" || !output)
      throw notFound(
        `${key} has no ${variant} output${job.status === "completed" ? "" : ` (its job is ${job.status})`}`,
      );
    // A redirect never outlives the signed URL that led to it.
    const expiresAtSec = signedUntil(response);
    const viaStream = variant === "hls_master" && (!signer.cdnBaseUrl || delivery !== undefined);
    const location = viaStream
      ? signedOrPlain(signer, streamRouteUrl(key, "master.m3u8"), { expiresAtSec })
      : await objectUrl(signer, config.storage.outputBucket ?? job.source.bucket, output.key, { expiresAtSec });
    response.setHeader("cache-control", "private, max-age=60");
    found(response, location);
  });

  playback.get("/api/media/item/stream", access, async (request, response) => {
    const { key, file } = parseRequest(itemStreamQuery, unsigned(request.query), "query");
    const job = await latestVisible(principalOf(response), key);
    const folder = hlsFolder(job.status === "completed" ? resultOf(job) : undefined);
    if (!folder)
      throw notFound(`${key} has no HLS ladder${job.status === "completed" ? "" : ` yet (its job is ${job.status})`}`);
    const outputBucket = config.storage.outputBucket ?? job.source.bucket;
    // Everything reached from a signed playlist expires with it; a token's request signs for DELIVERY_URL_TTL.
    const expiresAtSec = signedUntil(response) ?? (delivery ? issuedExpiry(delivery) : undefined);
    response.setHeader("cache-control", "private, max-age=60");
    if (!file.endsWith(".m3u8")) {
      // Segments go straight to S3 or the CDN: the API only ever carries the small playlists.
      found(response, await objectUrl(signer, outputBucket, `${folder}/${file}`, { expiresAtSec }));
      return;
    }
    let text: string;
    try {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: outputBucket, Key: `${folder}/${file}` }));
      text = (await object.Body?.transformToString("utf-8")) ?? "";
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound") throw notFound(`no ${file} in the item's HLS folder`);
      throw fromAwsError(error, "s3:getObject");
    }
    // Relative to this playlist's own URL, so a proxy's path prefix is kept; each URI signed for its own file.
    const plain = (target: string) => `stream?key=${encodeURIComponent(key)}&file=${encodeURIComponent(target)}`;
    const streamPath = new URL("stream", new URL(request.originalUrl, "http://api.invalid")).pathname;
    const route =
      delivery && expiresAtSec !== undefined
        ? (target: string) =>
            `stream?${signedQuery(
              streamPath,
              [
                ["key", key],
                ["file", target],
              ],
              delivery.keys[0]!,
              expiresAtSec,
            )}`
        : plain;
    response.type("application/vnd.apple.mpegurl").send(rewritePlaylist(text, file, route));
  });

  return { authenticated, playback };
}

/** Who a request with a valid signed URL is: it may read what the signature names, nothing else. */
const SIGNED_URL: Principal = { id: "signed-url", scope: "read", tenant: undefined };

/**
 * Access to the playback routes. Signed delivery off: unchanged (public with API_PLAYBACK_PUBLIC,
 * else the app's bearer token, already checked). On: a request with `expires`/`sig` passes only
 * if they verify (403 otherwise, whatever token it also has: a broken link should look broken),
 * and one without needs a bearer token — so a tokenless request plays only with a signature.
 */
function playbackAccess(
  delivery: DeliverySigning | undefined,
  bearer: RequestHandler,
  hasTokens: boolean,
): RequestHandler {
  return (request, response, next) => {
    if (!delivery) return next();
    const verdict = verifyDeliveryUrl(request.originalUrl, delivery.keys);
    if (verdict.ok) {
      response.locals.principal = SIGNED_URL;
      response.locals.signedUntil = verdict.expiresAtSec;
      return next();
    }
    if (verdict.reason === "expired")
      return next(new HttpProblem(403, "signature-expired", "this signed URL has expired; ask for a fresh one"));
    if (verdict.reason !== "unsigned")
      return next(
        new HttpProblem(
          403,
          "signature-invalid",
          "the URL's signature does not match it (altered, for another path, or made with a retired key)",
        ),
      );
    if (response.locals.principal !== undefined) return next();
    if (!hasTokens)
      return next(new HttpProblem(403, "signature-required", "signed delivery is on: this route needs a signed URL"));
    bearer(request, response, next);
  };
}

/** The expiry of the signed URL the request came with; undefined for a token's request. */
function signedUntil(response: Response): number | undefined {
  const until: unknown = response.locals.signedUntil;
  return typeof until === "number" ? until : undefined;
}

/** The query without the signature's parameters (checked by playbackAccess; ignored with signing off). */
function unsigned(query: Request["query"]): Record<string, unknown> {
  const { [EXPIRES_PARAM]: _expires, [SIGNATURE_PARAM]: _sig, ...rest } = query;
  return rest;
}

/** A bodiless 302 (Express's redirect adds an HTML or text body nobody reads). */
function found(response: Response, location: string): void {
  response.status(302).setHeader("location", location);
  response.end();
}

/** The key prefix of a tenant's (and user's) uploads under the pattern; stops at the first placeholder left open. */
export function ownerPrefix(pattern: string, tenantId: string | undefined, userId: string | undefined): string {
  let prefix = "";
  for (const part of pattern.split(/(\{tenant\}|\{user\})/)) {
    if (part === "{tenant}") {
      if (tenantId === undefined) return prefix;
      prefix += tenantId;
    } else if (part === "{user}") {
      if (userId === undefined) return prefix;
      prefix += userId;
    } else prefix += part;
  }
  return prefix;
}
