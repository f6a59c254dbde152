import type { Kysely, Selectable } from "kysely";
import type { AuditEventsTable, Database } from "./schema.js";

/** One recorded admin or operator action. */
export interface AuditRecord {
  /** Increasing id (bigserial, as text). */
  id: string;
  at: Date;
  actor: string;
  role: string;
  peer: string;
  method: string;
  requestJson: string;
  outcome: string;
}

/** What {@link AuditRepository.record} stores. */
export type NewAuditRecord = Omit<AuditRecord, "id" | "at">;

/** The `audit_events` table (migration 0031). */
export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores one event. */
  async record(event: NewAuditRecord): Promise<void> {
    await this.db
      .insertInto("audit_events")
      .values({ actor: event.actor, role: event.role, peer: event.peer, method: event.method, request_json: event.requestJson, outcome: event.outcome })
      .execute();
  }

  /** A page of events, newest first, with ids below `beforeId` when given. */
  async page(limit: number, beforeId: string | undefined): Promise<AuditRecord[]> {
    let query = this.db.selectFrom("audit_events").selectAll().orderBy("id", "desc").limit(limit);
    if (beforeId !== undefined) query = query.where("id", "<", beforeId);
    return (await query.execute()).map(recordOf);
  }
}

function recordOf(row: Selectable<AuditEventsTable>): AuditRecord {
  return { id: String(row.id), at: row.at, actor: row.actor, role: row.role, peer: row.peer, method: row.method, requestJson: row.request_json, outcome: row.outcome };
}
