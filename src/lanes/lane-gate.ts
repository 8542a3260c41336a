import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { LaneSettings } from "../config/config.ts";
import { jobIdFor, jobSourceOf } from "../jobs/job.model.ts";
import type { JobStore } from "../jobs/job.store.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Owner } from "../s3-events/key-rules.ts";
import type { ObjectRef } from "../s3-events/object-ref.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { FairShare, Slot } from "./fair-share.ts";
import { buildLaneForward, MAX_DEFERRALS, NO_TENANT, type LaneForward } from "./lane-forward.ts";
import { sniffKind } from "./lane-sniff.ts";
import { laneForKind, laneNamed } from "./lanes.ts";

/**
 * What happens to one object before its job runs in this lane: it may belong to another lane
 * (forwarded there), or its tenant may be over its share while others wait (deferred: re-sent to
 * this lane's queue with a delay). Both moves follow one order, so a crash loses nothing:
 * record on the job timeline → SendMessage → (the caller) delete the original. A crash after the
 * send leaves the original too; it is routed again and the duplicate is dropped by the job-id
 * claim like any duplicate delivery.
 *
 * Deferral re-sends rather than ChangeMessageVisibility on purpose: a visibility change keeps the
 * message and raises its ApproximateReceiveCount, so the redrive policy (maxReceiveCount =
 * MAX_PROCESSING_RETRIES) would move a merely deferred upload to the DLQ and the fate table
 * would count deferrals as failed attempts. A re-sent message starts at receive count 1.
 */
export type LaneDecision =
  /** Run it here; release the slot when the job ends. */
  | { kind: "run"; slot: Slot }
  /** Forwarded or deferred: the original can go (`sent`), or the send failed (`failed`: keep it). */
  | { kind: "moved"; sent: boolean };

export interface LaneGateDeps {
  /** The lane this worker's consumer serves. */
  lane: LaneSettings;
  /** Every lane, the entry lane first. */
  lanes: LaneSettings[];
  objects: ObjectStore;
  sqs: SQSClient;
  store: JobStore;
  fairShare: FairShare;
  /** FAIR_SHARE_DEFER in seconds (SQS DelaySeconds, at most 900). */
  deferSec: number;
  metrics: Metrics;
  logger: Logger;
}

export interface Arrival {
  ref: ObjectRef;
  owner: Owner;
  /** When the upload's event reached the first queue (epoch ms). */
  sentAtMs: number;
  /** Set when the message was a forward. */
  forward?: LaneForward;
  /** This worker holds other messages it can start instead (look-ahead): a deferral never idles the slot. */
  canYield: boolean;
  /** Handed over as a fair-share probe (MediaConsumer.pickProbe): goes behind the queue, never runs here unless that send fails. */
  probe?: boolean;
  /** Handed over to go to the lane's backlog (MediaConsumer.pickSpill): never runs here unless that send fails. */
  spill?: boolean;
  signal: AbortSignal;
}

/** A probe goes behind the queue for this long: back soon, a lone tenant's slots never wait for it. */
const PROBE_DELAY_SEC = 1;

export class LaneGate {
  private readonly deps: LaneGateDeps;

  constructor(deps: LaneGateDeps) {
    this.deps = deps;
  }

  get lane(): string {
    return this.deps.lane.name;
  }

  async decide(arrival: Arrival): Promise<LaneDecision> {
    const tenant = arrival.owner.tenantId;
    // A probe was never picked to start: it has no pending start to settle.
    const settle = () => {
      if (!arrival.probe && !arrival.spill) this.deps.fairShare.settleStart(tenant);
    };
    let target: LaneSettings;
    try {
      target = await this.targetLane(arrival);
    } catch (error) {
      settle();
      throw error;
    }
    if (target.name !== this.deps.lane.name) {
      settle();
      const sent = await this.move(arrival, target, "lane", 0);
      return { kind: "moved", sent };
    }
    const deferrals = arrival.forward?.reason === "fair-share" ? arrival.forward.deferrals : 0;
    if ((arrival.probe || arrival.spill) && deferrals < MAX_DEFERRALS) {
      const spill = arrival.spill === true && this.deps.lane.backlogQueueUrl !== undefined;
      const sent = spill
        ? await this.move(arrival, this.deps.lane, "fair-share", 0, {}, "backlog")
        : await this.move(arrival, this.deps.lane, "fair-share", PROBE_DELAY_SEC, {}, "probe");
      if (sent) {
        await this.deps.fairShare.noteProbed(tenant);
        return { kind: "moved", sent };
      }
    }
    const admission = await this.deps.fairShare.admit(arrival.owner.tenantId, {
      // Deferral is a guess that a neighbour has work queued behind this message; made only when
      // this worker has other held messages to run instead, it never costs an idle slot.
      mayDefer: deferrals < MAX_DEFERRALS && arrival.canYield,
      returning: deferrals > 0,
    });
    settle();
    if (admission.admitted) return { kind: "run", slot: admission.slot };
    const sent = await this.move(arrival, this.deps.lane, "fair-share", this.deps.deferSec, {
      running: admission.running,
      share: Math.round(admission.share * 100) / 100,
    });
    if (sent) return { kind: "moved", sent };
    // The deferral could not be sent: run it rather than hold it (fair share is a courtesy).
    const fallback = await this.deps.fairShare.admit(arrival.owner.tenantId, { mayDefer: false, returning: false });
    return { kind: "run", slot: fallback.admitted ? fallback.slot : { release: async () => undefined } };
  }

  /** A forward addressed to a known lane goes there without a sniff; anything else is sniffed (with several lanes). */
  private async targetLane(arrival: Arrival): Promise<LaneSettings> {
    const { lanes, lane, objects } = this.deps;
    const named = arrival.forward ? laneNamed(lanes, arrival.forward.lane) : undefined;
    if (named) return named;
    if (lanes.length === 1) return lane;
    return laneForKind(lanes, await sniffKind(objects, arrival.ref, arrival.signal));
  }

  /**
   * Timeline, then SendMessage; true once the forward is on its queue. A fair-share move (a
   * deferral in the forward's body) goes to the lane's backlog queue when it has one, so the
   * lane's own queue keeps only recent arrivals; `as` names the fair-share move on the timeline
   * (`deferred`, `requeued` for a probe, `backlogged` for a spill) and in the metric.
   */
  private async move(
    arrival: Arrival,
    to: LaneSettings,
    reason: "lane" | "fair-share",
    delaySec: number,
    detail: Record<string, unknown> = {},
    as: "defer" | "probe" | "backlog" = "defer",
  ): Promise<boolean> {
    const { sqs, metrics, logger } = this.deps;
    const { ref, owner } = arrival;
    const tenant = owner.tenantId;
    const deferrals =
      (arrival.forward?.reason === "fair-share" ? arrival.forward.deferrals : 0) + (reason === "fair-share" ? 1 : 0);
    const source = jobSourceOf(ref);
    const jobId = jobIdFor(source);
    const event =
      reason === "lane" ? "lane-forwarded" : as === "probe" ? "requeued" : as === "backlog" ? "backlogged" : "deferred";
    // A probe goes behind the lane's own queue: that is how it lets the next receive see further.
    const queueUrl = reason === "fair-share" && as !== "probe" ? (to.backlogQueueUrl ?? to.queueUrl) : to.queueUrl;
    await this.recordOnTimeline(jobId, source, owner, event, {
      from: this.deps.lane.name,
      to: to.name,
      ...(queueUrl !== to.queueUrl ? { queue: "backlog" } : {}),
      ...(reason === "fair-share" ? { delaySec, deferrals } : {}),
      ...detail,
    });
    const body = buildLaneForward({ lane: to.name, reason, tenant, sentAtMs: arrival.sentAtMs, deferrals, ref });
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: body,
          // SQS fair queues (standard queues, 2025) group by MessageGroupId: the tenant.
          MessageGroupId: tenant ?? NO_TENANT,
          ...(delaySec > 0 ? { DelaySeconds: Math.min(900, delaySec) } : {}),
        }),
      );
    } catch (error) {
      logger.warn({ err: error, jobId, to: to.name, reason }, "could not forward the job; the message is kept");
      return false;
    }
    metrics.laneForwards.inc({ lane: to.name, reason: reason === "lane" || as === "defer" ? reason : as });
    // A lane forward happens once per upload; deferrals can be many while a tenant is over its share.
    logger[reason === "lane" ? "info" : "debug"](
      { jobId, from: this.deps.lane.name, to: to.name, reason, tenant, delaySec },
      reason === "lane"
        ? "job forwarded to its lane"
        : as === "probe"
          ? "job put behind the queue: a probe past the look-ahead"
          : as === "backlog"
            ? "job moved to the lane's backlog: its tenant already runs here and the look-ahead is full"
            : "job deferred: its tenant is over its fair share",
    );
    return true;
  }

  /** The job appears as `queued` (if new) with the move on its timeline; best effort: Redis trouble never blocks a move. */
  private async recordOnTimeline(
    jobId: string,
    source: ReturnType<typeof jobSourceOf>,
    owner: Owner,
    event: string,
    detail: Record<string, unknown>,
  ): Promise<void> {
    const { store, logger } = this.deps;
    try {
      await store.enqueue({ id: jobId, source, tenantId: owner.tenantId, userId: owner.userId, via: event });
      await store.appendTimeline(jobId, event, detail);
    } catch (error) {
      logger.warn({ err: error, jobId, event }, "could not record the move on the job timeline");
    }
  }
}
