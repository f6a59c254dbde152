import type { Cluster, Redis } from "ioredis";
import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import { SLOT_COUNT } from "./key-slot.js";
import { answerWithin, nodeIdentity } from "./node-answer.js";

/** Options for {@link SlotOwnerWatch}. */
export interface SlotOwnerWatchOptions {
  cluster: Cluster;
  logger: Logger;
  /** How often the masters are asked who they are, ms. */
  intervalMs: number;
  /** A master's answer later than this counts as none this round, ms. */
  timeoutMs?: number;
  /**
   * Slots whose data may have lost writes: their master is another node, or the same node
   * restarted or promoted again, since the last look; `afterMs` (epoch ms) is when that last
   * look started: the new masters took their slots after it.
   */
  onChanged: (slots: ReadonlySet<number>, afterMs: number) => void;
}

/** One master's answer: who it is now and the slots it serves. */
interface MasterClaim {
  /** `<node id> <run_id> <master_replid>`: changes with a failover, a restart or a re-promotion. */
  identity: string;
  configEpoch: number;
  ranges: Array<[number, number]>;
}

/**
 * Notices when a Redis Cluster slot's data may have lost writes, which no marker key can show:
 * asynchronous replication lets a promoted replica miss the last writes its master
 * acknowledged, while every key written before (a marker too) is still there. So it watches
 * who serves each slot. Every `intervalMs` each master says who it is (`CLUSTER NODES`'
 * `myself` line: node id, config epoch, slots; `INFO`: `run_id`, new at every start, and
 * `master_replid`, new at every promotion) and the slots whose identity changed since the last
 * look are reported: a failover (another node), a restart (a new `run_id`, whether it came
 * back empty or from an old snapshot), a replica promoted back. A planned failover that lost
 * nothing is reported too: recovery then finds nothing to restore. The first look only
 * records (a server's start-up recovery sweep covers everything).
 */
export class SlotOwnerWatch implements Service {
  private readonly periodic: PeriodicTask;
  private readonly owners = new Array<string | undefined>(SLOT_COUNT);
  /** When the previous look started (epoch ms). */
  private lastLookAt = Date.now();

  constructor(private readonly options: SlotOwnerWatchOptions) {
    this.periodic = new PeriodicTask({ name: "redis cluster slot owners", run: () => this.look(), intervalMs: options.intervalMs, runAtStart: true, logger: options.logger });
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Looks now (tests). */
  async lookNow(): Promise<void> {
    await this.periodic.runNow();
  }

  private async look(): Promise<void> {
    const startedAt = Date.now();
    const previousAt = this.lastLookAt;
    this.lastLookAt = startedAt;
    const claims = await Promise.all(
      this.options.cluster.nodes("master").map((node) => answerWithin(this.options.timeoutMs ?? 1_000, () => this.claimOf(node))),
    );
    // A slot claimed twice (an old master not yet told of its replacement): the claim of the
    // higher config epoch is the cluster's.
    const seen = new Array<MasterClaim | undefined>(SLOT_COUNT);
    for (const claim of claims) {
      if (!claim) continue;
      for (const [from, to] of claim.ranges) {
        for (let slot = from; slot <= to; slot++) {
          const other = seen[slot];
          if (!other || other.configEpoch < claim.configEpoch) seen[slot] = claim;
        }
      }
    }
    const changed = new Set<number>();
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const now = seen[slot]?.identity;
      if (now === undefined) continue;
      const before = this.owners[slot];
      if (before !== undefined && before !== now) changed.add(slot);
      this.owners[slot] = now;
    }
    if (changed.size > 0) {
      this.options.logger.warn({ slots: changed.size }, "redis cluster: slots changed master (failover or restart); recovering their queues from Postgres");
      this.options.onChanged(changed, previousAt);
    }
  }

  /** A master's claim, or undefined when it is no master. */
  private async claimOf(node: Redis): Promise<MasterClaim | undefined> {
    const [nodes, info] = await Promise.all([node.call("CLUSTER", "NODES"), node.call("INFO", "server", "replication")]);
    const myself = String(nodes)
      .split("\n")
      .map((line) => line.trim().split(" "))
      .find((fields) => fields[2]?.split(",").includes("myself"));
    if (!myself || !myself[2]!.split(",").includes("master")) return undefined;
    const ranges = myself
      .slice(8)
      .filter((s) => !s.startsWith("["))
      .map((s) => {
        const [from, to] = s.split("-");
        return [Number(from), Number(to ?? from)] as [number, number];
      });
    return { identity: `${myself[0]} ${nodeIdentity(String(info))}`, configEpoch: Number(myself[6]), ranges };
  }
}
