import { sql, type Kysely } from "kysely";
import { storedQueueSettingsOf, type StoredQueueSettings } from "../engine/queue-settings.js";
import type { Database } from "./schema.js";

/** A queue's durable state (a `queues` row). */
export interface QueueRecord {
  name: string;
  paused: boolean;
  pauseReason: string;
  pausedAt: Date | null;
  /** The queue's own settings (fields left out fall back to the server's). */
  settings: StoredQueueSettings;
}

/**
 * The `queues` table and the per-queue figures Postgres answers cheaply: the paused flag of
 * each queue, and its DEAD count from the small `dead_tasks` table (index-only on its
 * primary key, never a scan of `tasks`).
 */
export class QueueRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The stored state of `names` (queues without a row are missing from the map). */
  async get(names: readonly string[]): Promise<Map<string, QueueRecord>> {
    if (names.length === 0) return new Map();
    const rows = await this.db.selectFrom("queues").selectAll().where("name", "in", [...names]).execute();
    return new Map(rows.map((r) => [r.name, recordOf(r)]));
  }

  /** Every queue's stored state, by name (one read of the small `queues` table). */
  async all(): Promise<Map<string, QueueRecord>> {
    const rows = await this.db.selectFrom("queues").selectAll().execute();
    return new Map(rows.map((r) => [r.name, recordOf(r)]));
  }

  /** Names of every queue with a row. */
  async names(): Promise<string[]> {
    return (await this.db.selectFrom("queues").select("name").execute()).map((r) => r.name);
  }

  /** Names of the paused queues. */
  async pausedNames(): Promise<string[]> {
    return (await this.db.selectFrom("queues").select("name").where("paused", "=", true).execute()).map((r) => r.name);
  }

  /**
   * Marks a queue paused (creating its row). A queue already paused keeps its reason and
   * time. Returns the stored state.
   */
  async pause(name: string, reason: string, at: Date): Promise<QueueRecord> {
    const row = await this.db
      .insertInto("queues")
      .values({ name, paused: true, pause_reason: reason, paused_at: at, updated_at: at })
      .onConflict((oc) =>
        oc.column("name").doUpdateSet({
          paused: true,
          pause_reason: sql`CASE WHEN queues.paused THEN queues.pause_reason ELSE excluded.pause_reason END`,
          paused_at: sql`CASE WHEN queues.paused THEN queues.paused_at ELSE excluded.paused_at END`,
          updated_at: sql`CASE WHEN queues.paused THEN queues.updated_at ELSE excluded.updated_at END`,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return recordOf(row);
  }

  /** Clears a queue's pause; returns whether it had a row. */
  async resume(name: string, at: Date): Promise<boolean> {
    const result = await this.db
      .updateTable("queues")
      .set({ paused: false, pause_reason: "", paused_at: null, updated_at: at })
      .where("name", "=", name)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** The stored settings of every queue that has some. */
  async allSettings(): Promise<Map<string, StoredQueueSettings>> {
    const rows = await this.db.selectFrom("queues").select(["name", "settings"]).where(sql<boolean>`settings <> '{}'::jsonb`).execute();
    return new Map(rows.map((r) => [r.name, storedQueueSettingsOf(r.settings)]));
  }

  /**
   * Changes a queue's stored settings (creating its row): `set` fields take their values,
   * `clear` fields are removed. `check` sees the result inside the transaction; when it
   * throws, nothing is written.
   */
  async updateSettings(
    name: string,
    set: StoredQueueSettings,
    clear: readonly string[],
    check: (record: QueueRecord) => void,
  ): Promise<QueueRecord> {
    return this.db.transaction().execute(async (trx) => {
      const result = await sql<QueueRow>`
        INSERT INTO queues (name, settings) VALUES (${name}, ${JSON.stringify(set)}::jsonb)
        ON CONFLICT (name) DO UPDATE
          SET settings = (queues.settings || excluded.settings) - ${[...clear]}::text[], updated_at = now()
        RETURNING name, paused, pause_reason, paused_at, settings`.execute(trx);
      const record = recordOf(result.rows[0]!);
      check(record);
      return record;
    });
  }

  /** DEAD tasks of each queue, from `dead_tasks` (an index-only count per queue). */
  async deadCounts(names: readonly string[]): Promise<Map<string, number>> {
    if (names.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("dead_tasks")
      .select(["queue", sql<string>`count(*)`.as("n")])
      .where("queue", "in", [...names])
      .groupBy("queue")
      .execute();
    return new Map(rows.map((r) => [r.queue, Number(r.n)]));
  }

  /**
   * The DEAD count of every queue that has dead letters (one pass over `dead_tasks`' primary
   * key: the names and the counts {@link deadQueueNames} and {@link deadCounts} give together).
   */
  async allDeadCounts(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom("dead_tasks")
      .select(["queue", sql<string>`count(*)`.as("n")])
      .groupBy("queue")
      .execute();
    return new Map(rows.map((r) => [r.queue, Number(r.n)]));
  }

  /** Queues that have dead-lettered tasks (a skip scan of `dead_tasks`' primary key). */
  async deadQueueNames(): Promise<string[]> {
    const result = await sql<{ queue: string }>`
      WITH RECURSIVE q AS (
        (SELECT queue FROM dead_tasks ORDER BY queue LIMIT 1)
        UNION ALL
        SELECT (SELECT d.queue FROM dead_tasks d WHERE d.queue > q.queue ORDER BY d.queue LIMIT 1)
        FROM q WHERE q.queue IS NOT NULL
      )
      SELECT queue FROM q WHERE queue IS NOT NULL`.execute(this.db);
    return result.rows.map((r) => r.queue);
  }
}

interface QueueRow {
  name: string;
  paused: boolean;
  pause_reason: string;
  paused_at: Date | null;
  settings: unknown;
}

function recordOf(row: QueueRow): QueueRecord {
  return {
    name: row.name,
    paused: row.paused,
    pauseReason: row.pause_reason,
    pausedAt: row.paused_at,
    settings: storedQueueSettingsOf(row.settings),
  };
}
