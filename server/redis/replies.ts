import type { CompletionInput, LeaseAllocation, LeasedRecord, LeaseEnd, LeaseEndHow, LeaseResult } from "./queue-store.js";
import { decodeTaskDescriptor } from "./task-descriptor.js";

/** Values end_lease (lib.lua) appends per ended lease. */
const LEASE_END_VALUES = 7;

/**
 * Reads lease.lua's flat reply: the leased and expired counts, the ready and limited flags,
 * the ms until the rate limit's next token (-1: not rate-limited),
 * then six values per leased task
 * (session index, id, attempt, deadline, descriptor, payload), then the expired ids. Lease
 * tokens are not in the reply: the k-th task leased to an allocation has the token
 * `<its tokenPrefix>.<k>`.
 */
export function parseLeaseReply(
  reply: Array<Buffer | number>,
  queue: string,
  allocations: LeaseAllocation[],
): LeaseResult {
  const leasedCount = reply[0] as number;
  const leased: LeasedRecord[] = new Array(leasedCount);
  const dealt = new Array<number>(allocations.length).fill(0);
  let at = 5;
  for (let i = 0; i < leasedCount; i++, at += 6) {
    const s = (reply[at] as number) - 1;
    const allocation = allocations[s]!;
    const descriptor = decodeTaskDescriptor((reply[at + 4] as Buffer).toString());
    const k = dealt[s]! + 1;
    dealt[s] = k;
    leased[i] = {
      sessionId: allocation.sessionId,
      queue,
      id: (reply[at + 1] as Buffer).toString(),
      leaseToken: `${allocation.tokenPrefix}.${k}`,
      attempt: reply[at + 2] as number,
      deadlineMs: reply[at + 3] as number,
      type: descriptor.type,
      payloadFormat: descriptor.payloadFormat,
      payload: reply[at + 5] as Buffer,
      maxAttempts: descriptor.maxAttempts,
      timeoutMs: descriptor.timeoutMs,
      labels: descriptor.labels,
      createdMs: descriptor.createdMs,
      trace: descriptor.trace,
    };
  }
  const expired: string[] = [];
  for (; at < reply.length; at++) expired.push((reply[at] as Buffer).toString());
  return { leased, expired, ready: reply[2] === 1, limited: reply[3] === 1, nextTokenMs: reply[4] as number < 0 ? null : (reply[4] as number) };
}

/** Reads complete.lua's flat reply: per input, 'STALE' (null here) or the end_lease values. */
export function parseCompleteReply(reply: unknown[], inputs: CompletionInput[]): Array<LeaseEnd | null> {
  const ends: Array<LeaseEnd | null> = [];
  let at = 0;
  for (const input of inputs) {
    if (reply[at] === "STALE") {
      ends.push(null);
      at += 1;
    } else {
      ends.push(leaseEndAt(reply, at, input.id, input.how, input.leaseToken));
      at += LEASE_END_VALUES;
    }
  }
  return ends;
}

/** Reads reap.lua's and release.lua's flat reply: per lease, id, how, token, end_lease values. */
export function parseLeaseEnds(reply: unknown[]): LeaseEnd[] {
  const ends: LeaseEnd[] = [];
  for (let at = 0; at < reply.length; at += 3 + LEASE_END_VALUES) {
    ends.push(leaseEndAt(reply, at + 3, String(reply[at]), reply[at + 1] as LeaseEndHow, String(reply[at + 2])));
  }
  return ends;
}

function leaseEndAt(reply: unknown[], at: number, id: string, how: LeaseEndHow, leaseToken: string): LeaseEnd {
  return {
    id,
    state: reply[at] as LeaseEnd["state"],
    attempt: reply[at + 1] as number,
    workerId: reply[at + 2] as string,
    startedMs: Number(reply[at + 3]),
    dueMs: reply[at + 4] as number,
    how,
    queue: reply[at + 5] as string,
    sessionId: reply[at + 6] as string,
    leaseToken,
  };
}
