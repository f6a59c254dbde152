import type { TaskResult } from "../gen/taskqueue/v1/worker_service_pb.js";

/**
 * Results of one session on their way out: pending (decided, not yet sent, batched until
 * the next flush) and then unacknowledged (sent, waiting for the server's verdict).
 */
export class ResultTracker {
  private pending: TaskResult[] = [];
  private readonly unacked = new Set<string>();

  /** Results decided and not yet sent. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Results sent and not yet acknowledged. */
  get unackedCount(): number {
    return this.unacked.size;
  }

  /** True when nothing is pending or waiting for an ack. */
  get isSettled(): boolean {
    return this.pending.length === 0 && this.unacked.size === 0;
  }

  /** Queues a decided result for the next batch. */
  add(result: TaskResult): void {
    this.pending.push(result);
  }

  /** Takes every pending result as one batch and marks them as waiting for acks. */
  takeBatch(): TaskResult[] {
    const batch = this.pending;
    this.pending = [];
    for (const result of batch) this.unacked.add(key(result.taskId, result.leaseToken));
    return batch;
  }

  /** Records an ack; returns false when no such result was waiting. */
  acknowledge(taskId: string, leaseToken: string): boolean {
    return this.unacked.delete(key(taskId, leaseToken));
  }

  /** Forgets everything (the stream is gone); returns how many results were discarded. */
  clear(): number {
    const discarded = this.pending.length + this.unacked.size;
    this.pending = [];
    this.unacked.clear();
    return discarded;
  }
}

function key(taskId: string, leaseToken: string): string {
  return `${taskId}\u0000${leaseToken}`;
}
