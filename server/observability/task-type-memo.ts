/** The `type` label of an attempt whose lease this server did not hand out (unknown here). */
export const UNKNOWN_TYPE_LABEL = "_unknown";

/** Entries past which the memo is emptied (only leases ended by other servers are left behind). */
const MAX_ENTRIES = 1_000_000;

/**
 * Remembers the `type` label of each task this server leased, from its delivery to its lease
 * end, so that the attempt duration histogram is labelled by type without reading the task
 * again: lease ends (from Redis' scripts) carry the queue but not the type. One map entry per
 * task in flight; an entry whose lease another server ended (a crash, a takeover) is never
 * read, so the memo is emptied when it outgrows any plausible number of tasks in flight.
 */
export class TaskTypeMemo {
  private readonly types = new Map<string, string>();

  /** Notes the type label of a task leased here. */
  leased(id: string, typeLabel: string): void {
    if (this.types.size >= MAX_ENTRIES) this.types.clear();
    this.types.set(id, typeLabel);
  }

  /** The type label of a task whose lease ended (forgotten now), or {@link UNKNOWN_TYPE_LABEL}. */
  ended(id: string): string {
    const type = this.types.get(id);
    if (type === undefined) return UNKNOWN_TYPE_LABEL;
    this.types.delete(id);
    return type;
  }

  /** Tasks remembered now. */
  get size(): number {
    return this.types.size;
  }
}
