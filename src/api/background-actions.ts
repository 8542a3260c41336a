import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { audit } from "./audit.ts";
import type { Principal } from "./auth.ts";

/**
 * Long operator actions (DLQ redrive, bulk retry/cancel) run in the background of the API
 * process that accepted them; their progress lives in Redis, so any API replica answers
 * GET /api/media/actions/{id}.
 *   P action:{id}   STRING JSON ActionRecord, expires a day after its last update
 *   P actions       ZSET   ids by creation time, the newest ACTIONS_KEPT kept
 * A running action whose process died stops being updated; readers see it as `abandoned`
 * once its heartbeat is older than ABANDONED_AFTER_MS.
 */
export type ActionKind = "dlq-redrive" | "bulk-retry" | "bulk-cancel";
export type ActionState = "running" | "done" | "failed" | "abandoned";

export interface ActionRecord {
  id: string;
  kind: ActionKind;
  state: ActionState;
  /** Token id that started it, and its tenant limit. */
  by: string;
  tenant?: string;
  request: Record<string, unknown>;
  progress: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  error?: string;
}

const KEEP_MS = 24 * 3_600_000;
const ACTIONS_KEPT = 200;
/** Progress is written at least this often while an action runs. */
const HEARTBEAT_MS = 5_000;
const ABANDONED_AFTER_MS = 60_000;

export class ActionStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;

  constructor(redis: Redis, keyPrefix: string, logger: Logger) {
    this.redis = redis;
    this.prefix = keyPrefix;
    this.logger = logger;
  }

  /**
   * Records the action and starts `work` without waiting for it. `work` reports progress
   * through `report` (written at most once per call, and at least every HEARTBEAT_MS) and
   * returns the final progress.
   */
  async start(
    kind: ActionKind,
    principal: Principal,
    request: Record<string, unknown>,
    work: (report: (progress: Record<string, unknown>) => void) => Promise<Record<string, unknown>>,
  ): Promise<ActionRecord> {
    const now = new Date().toISOString();
    const record: ActionRecord = {
      id: randomBytes(16).toString("hex"),
      kind,
      state: "running",
      by: principal.id,
      ...(principal.tenant ? { tenant: principal.tenant } : {}),
      request,
      progress: {},
      createdAt: now,
      updatedAt: now,
    };
    await this.save(record);
    await this.redis
      .multi()
      .zadd(this.key("actions"), Date.now(), record.id)
      .zremrangebyrank(this.key("actions"), 0, -ACTIONS_KEPT - 1)
      .exec();
    audit(this.logger, principal, kind, { actionId: record.id, request });
    let latest: Record<string, unknown> = {};
    let writing: Promise<unknown> = Promise.resolve();
    const write = () => {
      record.progress = latest;
      record.updatedAt = new Date().toISOString();
      writing = writing
        .then(() => this.save(record))
        .catch((error: unknown) => this.logger.warn({ err: error, actionId: record.id }, "action progress not saved"));
    };
    const heartbeat = setInterval(write, HEARTBEAT_MS);
    heartbeat.unref();
    void (async () => {
      try {
        latest = await work((progress) => {
          latest = progress;
          write();
        });
        record.state = "done";
      } catch (error) {
        record.state = "failed";
        record.error = error instanceof Error ? error.message : String(error);
        this.logger.warn({ err: error, actionId: record.id, kind }, "background action failed");
      } finally {
        clearInterval(heartbeat);
        record.finishedAt = new Date().toISOString();
        write();
        await writing;
        this.logger.info(
          { actionId: record.id, kind, state: record.state, progress: summarise(latest) },
          "background action finished",
        );
      }
    })();
    return record;
  }

  async get(id: string): Promise<ActionRecord | undefined> {
    const text = await this.redis.get(this.key("action", id));
    return text ? withLiveness(JSON.parse(text) as ActionRecord) : undefined;
  }

  /** The newest actions first (those still kept). */
  async list(limit: number): Promise<ActionRecord[]> {
    const ids = await this.redis.zrevrange(this.key("actions"), 0, limit - 1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.key("action", id)));
    return texts
      .filter((text): text is string => text !== null)
      .map((text) => withLiveness(JSON.parse(text) as ActionRecord));
  }

  private async save(record: ActionRecord): Promise<void> {
    await this.redis.set(this.key("action", record.id), JSON.stringify(record), "PX", KEEP_MS);
  }

  private key(...parts: string[]): string {
    return `${this.prefix}${parts.join(":")}`;
  }
}

function withLiveness(record: ActionRecord): ActionRecord {
  if (record.state === "running" && Date.now() - Date.parse(record.updatedAt) > ABANDONED_AFTER_MS)
    return { ...record, state: "abandoned" };
  return record;
}

/** Counters only, for the log line (lists of jobs stay in the record). */
function summarise(progress: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(progress).filter(([, value]) => typeof value === "number" || typeof value === "boolean"),
  );
}
