import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { LuaScript } from "../../jobs/lua-script.ts";
import { chunkPlanSchema, type ChunkPlan } from "../../processors/video/chunk-plan.ts";
import type { PartRecord } from "../../processors/video/chunk-playlists.ts";

/**
 * Redis state of chunked jobs, beside the job record (P = REDIS_KEY_PREFIX):
 *
 *   P chunks:{job}              HASH  plan (JSON ChunkPlan), planId, leaseToken (the job lease the
 *                                     planner holds for every task), run (output run token), attempt,
 *                                     startedAt (epoch ms), eTag / versionId (the source the plan is for),
 *                                     total (video chunks + the audio and stills tasks), media (JSON: kind, format, mime)
 *   P chunks:{job}:done         SET   part names done (`v0`…, `audio`, `stills`)
 *   P chunks:{job}:parts        HASH  part name → PartRecord JSON (segments, codecs, worker, times)
 *   P chunks:{job}:lease:{part} STRING the token of the worker running that part, PX (a chunk's lease)
 *   P chunks:{job}:stitch       STRING the token of the task stitching, PX
 *   P chunks:{job}:publish      STRING the token of the task publishing early EVENT playlists, PX
 *                                     (the plan hash then holds playableChunks and playableAt)
 *
 * Everything expires with JOB_STATUS_TTL and is deleted when the job ends. The only step that
 * needs atomicity is "this part is done — was it the last?": {@link ChunkStore.markDone}.
 */
export interface StoredPlan {
  plan: ChunkPlan;
  planId: string;
  leaseToken: string;
  run: string;
  attempt: number;
  startedAt: number;
  eTag: string | undefined;
  versionId: string | undefined;
  total: number;
  /** What the planner detected (kind, format, mime), for the manifest. */
  media: { kind: string; format: string | undefined; mime: string | undefined };
}

/**
 * The tasks of a plan besides its video chunks: audio and stills. A plan stored by a worker of
 * the previous version (total = chunks + 1) has no stills task: its audio task makes the stills.
 */
export const PARTS_BESIDE_CHUNKS = 2;

const storedSchema = z.object({
  plan: z.string(),
  planId: z.string(),
  leaseToken: z.string(),
  run: z.string(),
  attempt: z.string(),
  startedAt: z.string(),
  eTag: z.string().optional(),
  versionId: z.string().optional(),
  total: z.string(),
  media: z.string(),
});

const mediaSchema = z.object({ kind: z.string(), format: z.string().optional(), mime: z.string().optional() });

const storedSegmentSchema = z.object({ uri: z.string(), durationSec: z.number(), bytes: z.number() }).strict();
const partSchema = z
  .object({
    segments: z.record(z.string(), z.array(storedSegmentSchema)),
    codecs: z.record(z.string(), z.string()),
    workerId: z.string(),
    startedAt: z.number(),
    endedAt: z.number(),
    outputs: z.array(z.looseObject({ key: z.string(), variant: z.string() })).optional(),
  })
  .strict();

export type StoredPart = z.infer<typeof partSchema>;

/**
 * MARK_DONE: KEYS done, parts, stitch, plan · ARGV part, recordJson, total, token, lockMs, ttlMs
 * Returns {-1, 0, 0} when the plan is gone (the job ended meanwhile): nothing is recorded.
 * Records the part, adds it to the done-set and, when the set is complete and nobody holds the
 * stitch lock, takes the lock for `token`. Returns {added 0/1, done count, stitch 0/1}. A task
 * redelivered after its part is done gets `added = 0` and may still take the lock: a stitcher
 * that died frees it when the lock expires, and its message (kept until the stitch is done)
 * comes back to take it.
 */
const markDoneScript = new LuaScript(`
if redis.call('EXISTS', KEYS[4]) == 0 then return {-1, 0, 0} end
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
local count = redis.call('SCARD', KEYS[1])
local stitch = 0
if count >= tonumber(ARGV[3]) then
  if redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5]) then stitch = 1
  elseif redis.call('GET', KEYS[3]) == ARGV[4] then stitch = 1 end
end
return {added, count, stitch}
`);

/** RELEASE_IF: KEYS key · ARGV token — deletes a lease only if it is still ours. */
const releaseIfScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** RENEW_IF: KEYS key · ARGV token, ms — extends a lease only if it is still ours. */
const renewIfScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

export class ChunkStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(redis: Redis, options: { keyPrefix: string; statusTtlSec: number }) {
    this.redis = redis;
    this.prefix = options.keyPrefix;
    this.ttlMs = options.statusTtlSec * 1000;
  }

  private key(jobId: string, ...parts: string[]): string {
    return [`${this.prefix}chunks:${jobId}`, ...parts].join(":");
  }

  async load(jobId: string): Promise<StoredPlan | undefined> {
    const hash = await this.redis.hgetall(this.key(jobId));
    const parsed = storedSchema.safeParse(hash);
    if (!parsed.success) return undefined;
    const stored = parsed.data;
    return {
      plan: chunkPlanSchema.parse(JSON.parse(stored.plan)),
      planId: stored.planId,
      leaseToken: stored.leaseToken,
      run: stored.run,
      attempt: Number(stored.attempt),
      startedAt: Number(stored.startedAt),
      eTag: stored.eTag || undefined,
      versionId: stored.versionId || undefined,
      total: Number(stored.total),
      media: (({ kind, format, mime }) => ({ kind, format, mime }))(mediaSchema.parse(JSON.parse(stored.media))),
    };
  }

  /** Writes a new plan, or keeps the stored one for the same source (a re-plan after a lapsed lease), taking over its lease token. */
  async save(
    jobId: string,
    fresh: Omit<StoredPlan, "planId" | "total">,
  ): Promise<{ stored: StoredPlan; reused: boolean }> {
    const existing = await this.load(jobId);
    if (existing && existing.eTag === fresh.eTag && existing.versionId === fresh.versionId) {
      await this.redis.hset(this.key(jobId), "leaseToken", fresh.leaseToken);
      return { stored: { ...existing, leaseToken: fresh.leaseToken }, reused: true };
    }
    if (existing) await this.remove(jobId);
    const stored: StoredPlan = {
      ...fresh,
      planId: randomUUID(),
      total: fresh.plan.chunks.length + PARTS_BESIDE_CHUNKS,
    };
    await this.redis
      .multi()
      .hset(this.key(jobId), {
        plan: JSON.stringify(stored.plan),
        planId: stored.planId,
        leaseToken: stored.leaseToken,
        run: stored.run,
        attempt: String(stored.attempt),
        startedAt: String(stored.startedAt),
        eTag: stored.eTag ?? "",
        versionId: stored.versionId ?? "",
        total: String(stored.total),
        media: JSON.stringify(stored.media),
      })
      .pexpire(this.key(jobId), this.ttlMs)
      .exec();
    return { stored, reused: false };
  }

  async doneParts(jobId: string): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.key(jobId, "done")));
  }

  async parts(jobId: string): Promise<Map<string, StoredPart>> {
    const hash = await this.redis.hgetall(this.key(jobId, "parts"));
    return new Map(Object.entries(hash).map(([name, json]) => [name, partSchema.parse(JSON.parse(json))]));
  }

  /** Takes a part's lease (SET NX PX) for `token`; false when another task holds it. */
  async leasePart(jobId: string, part: string, token: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.key(jobId, "lease", part), token, "PX", ms, "NX")) === "OK";
  }

  async renewPart(jobId: string, part: string, token: string, ms: number): Promise<boolean> {
    return (await renewIfScript.run(this.redis, [this.key(jobId, "lease", part)], [token, ms])) === 1;
  }

  async releasePart(jobId: string, part: string, token: string): Promise<void> {
    await releaseIfScript.run(this.redis, [this.key(jobId, "lease", part)], [token]);
  }

  async markDone(
    jobId: string,
    part: string,
    record: PartRecord,
    total: number,
    token: string,
    lockMs: number,
  ): Promise<{ added: boolean; done: number; stitch: boolean; planGone: boolean }> {
    const [added, done, stitch] = (await markDoneScript.run(
      this.redis,
      [this.key(jobId, "done"), this.key(jobId, "parts"), this.key(jobId, "stitch"), this.key(jobId)],
      [part, JSON.stringify(record), total, token, lockMs, this.ttlMs],
    )) as [number, number, number];
    return { added: added === 1, done, stitch: stitch === 1, planGone: added === -1 };
  }

  /** Takes a short named lock (`publish`: one early playlist publication at a time); false when held. */
  async lock(jobId: string, name: string, token: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.key(jobId, name), token, "PX", ms, "NX")) === "OK";
  }

  async unlock(jobId: string, name: string, token: string): Promise<void> {
    await releaseIfScript.run(this.redis, [this.key(jobId, name)], [token]);
  }

  /** How many leading chunks the published EVENT playlists list (0: nothing published early). */
  async playableChunks(jobId: string): Promise<number> {
    return Number((await this.redis.hget(this.key(jobId), "playableChunks")) ?? 0);
  }

  /** Records a publication of `count` leading chunks; true the first time (the video just became playable). */
  async setPlayableChunks(jobId: string, count: number): Promise<boolean> {
    const [first] = (await this.redis
      .multi()
      .hsetnx(this.key(jobId), "playableAt", String(Date.now()))
      .hset(this.key(jobId), "playableChunks", String(count))
      .exec()) as Array<[Error | null, number]>;
    return first?.[1] === 1;
  }

  async releaseStitch(jobId: string, token: string): Promise<void> {
    await releaseIfScript.run(this.redis, [this.key(jobId, "stitch")], [token]);
  }

  /** Deletes a plan and everything beside it (the job ended); part leases expire on their own. */
  async remove(jobId: string): Promise<void> {
    await this.redis.del(
      this.key(jobId),
      this.key(jobId, "done"),
      this.key(jobId, "parts"),
      this.key(jobId, "stitch"),
      this.key(jobId, "publish"),
    );
  }
}
