import type { OutgoingResult } from "./wire/task-results.js";

/**
 * Results of one session on their way out: pending (decided, not yet sent, batched until
 * the next flush) and then unacknowledged (sent, waiting for the server's verdict).
 */
export class ResultTracker {
  private pending: OutgoingResult[] = [];
  /** Lease token of each unacknowledged result, by task id. */
  private readonly unacked = new Map<string, string>();
  /** Unacknowledged results whose task id is already in `unacked` with another token. */
  private readonly unackedExtra = new Set<string>();

  /** Results decided and not yet sent. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Results sent and not yet acknowledged. */
  get unackedCount(): number {
    return this.unacked.size + this.unackedExtra.size;
  }

  /** True when nothing is pending or waiting for an ack. */
  get isSettled(): boolean {
    return this.pending.length === 0 && this.unackedCount === 0;
  }

  /** Queues a decided result for the next batch. */
  add(result: OutgoingResult): void {
    this.pending.push(result);
  }

  /** Takes every pending result as one batch and marks them as waiting for acks. */
  takeBatch(): OutgoingResult[] {
    const batch = this.pending;
    this.pending = [];
    for (const { taskId, leaseToken } of batch) {
      const token = this.unacked.get(taskId);
      if (token === leaseToken) continue;
      if (token === undefined && !(this.unackedExtra.size > 0 && this.unackedExtra.has(key(taskId, leaseToken)))) {
        this.unacked.set(taskId, leaseToken);
      } else {
        this.unackedExtra.add(key(taskId, leaseToken));
      }
    }
    return batch;
  }

  /** Records an ack; returns false when no such result was waiting. */
  acknowledge(taskId: string, leaseToken: string): boolean {
    if (this.unacked.get(taskId) === leaseToken) {
      this.unacked.delete(taskId);
      return true;
    }
    return this.unackedExtra.size > 0 && this.unackedExtra.delete(key(taskId, leaseToken));
  }

  /** Forgets everything (the stream is gone); returns how many results were discarded. */
  clear(): number {
    const discarded = this.pending.length + this.unackedCount;
    this.pending = [];
    this.unacked.clear();
    this.unackedExtra.clear();
    return discarded;
  }
}

function key(taskId: string, leaseToken: string): string {
  return `${taskId}\u0000${leaseToken}`;
}
