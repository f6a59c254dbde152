import type { CompletionInput, LeaseAllocation, LeasedRecord, LeaseEnd, LeaseEndHow } from "./queue-store.js";
import { decodeTaskDescriptor } from "./task-descriptor.js";

/** Values end_lease (lib.lua) appends per ended lease. */
const LEASE_END_VALUES = 7;

/**
 * Reads lease.lua's flat reply: the count leased per allocation, the expired count, then five
 * values per leased task (id, attempt, deadline, descriptor, payload), then the expired ids.
 * Lease tokens are not in the reply: the n-th leased task's token is `<tokenPrefix>.<n>`.
 */
export function parseLeaseReply(
  reply: Array<Buffer | number>,
  queue: string,
  allocations: LeaseAllocation[],
  tokenPrefix: string,
): { leased: LeasedRecord[]; expired: string[] } {
  const leased: LeasedRecord[] = [];
  let at = allocations.length + 1;
  for (let s = 0; s < allocations.length; s++) {
    const sessionId = allocations[s]!.sessionId;
    const count = reply[s] as number;
    for (let i = 0; i < count; i++, at += 5) {
      const descriptor = decodeTaskDescriptor((reply[at + 3] as Buffer).toString());
      leased.push({
        sessionId,
        queue,
        id: (reply[at] as Buffer).toString(),
        leaseToken: `${tokenPrefix}.${leased.length + 1}`,
        attempt: reply[at + 1] as number,
        deadlineMs: reply[at + 2] as number,
        type: descriptor.type,
        payloadFormat: descriptor.payloadFormat,
        payload: reply[at + 4] as Buffer,
        maxAttempts: descriptor.maxAttempts,
        timeoutMs: descriptor.timeoutMs,
        labels: descriptor.labels,
        createdMs: descriptor.createdMs,
      });
    }
  }
  const expired: string[] = [];
  for (; at < reply.length; at++) expired.push((reply[at] as Buffer).toString());
  return { leased, expired };
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
