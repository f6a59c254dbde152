import type { LeaseEnd } from "./dispatch-records.js";
import { parseLeaseEnds } from "./replies.js";

/**
 * A call ending leases over several queues (reap, release) failed on some of them, while Redis
 * applied the others: their lease ends, in `ends`, must still be written to Postgres and told
 * to dispatch (dropped, those tasks would stay RUNNING there while Redis has moved them on).
 */
export class LeaseEndsPartlyFailedError extends Error {
  constructor(
    /** The lease ends of the queues whose call succeeded. */
    readonly ends: LeaseEnd[],
    cause: unknown,
  ) {
    super(`ending leases failed on some queues: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "LeaseEndsPartlyFailedError";
  }
}

/**
 * The lease ends of per-queue script calls, once every call settled; when some failed, throws
 * {@link LeaseEndsPartlyFailedError} carrying the ends of the others.
 */
export async function settleLeaseEnds(calls: ReadonlyArray<Promise<unknown[]>>): Promise<LeaseEnd[]> {
  const settled = await Promise.allSettled(calls);
  const ends = settled.flatMap((s) => (s.status === "fulfilled" ? parseLeaseEnds(s.value) : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed) throw new LeaseEndsPartlyFailedError(ends, failed.reason);
  return ends;
}
