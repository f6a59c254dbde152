import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** Which tasks one page of a retention sweep looks at, and which of those it deletes. */
export interface FinishedTaskPage {
  /** Look at tasks with ids above this one (keyset), or from the first. */
  afterId: string | null;
  /** ... and below this one (ids are time-ordered: tasks created before some moment). */
  beforeId: string;
  /** Most tasks looked at. */
  limit: number;
  /** Delete SUCCEEDED, CANCELLED and EXPIRED tasks that finished before this; null: keep them. */
  finishedBefore: Date | null;
  /** Delete DEAD tasks that finished before this; null: keep them. */
  deadBefore: Date | null;
}

/** What one page did. */
export interface FinishedTaskPageResult {
  /** Tasks looked at. */
  scanned: number;
  /** Tasks deleted, with their attempt rows and dead-letter entries. */
  deleted: number;
  /** The highest id looked at: the next page starts after it (null when none was). */
  lastId: string | null;
}

/**
 * Deletes finished tasks past their retention, a page of ids at a time. Pages are read
 * through the primary key (no index mentions `state` or `finished_at`, so that outcome
 * updates stay HOT); each page deletes the rows it qualifies, their attempt rows and their
 * dead-letter entries in one statement. The conditions are checked again on the row being
 * deleted, so a task re-driven meanwhile is kept.
 */
export class FinishedTaskDeleter {
  constructor(private readonly db: Kysely<Database>) {}

  /** Looks at one page of tasks and deletes those past retention. */
  async deletePage(page: FinishedTaskPage): Promise<FinishedTaskPageResult> {
    const after = page.afterId ?? "00000000-0000-0000-0000-000000000000";
    const result = await sql<{ scanned: number; deleted: number; last_id: string | null }>`
      WITH page AS (
        SELECT id FROM tasks WHERE id > ${after}::uuid AND id < ${page.beforeId}::uuid ORDER BY id LIMIT ${page.limit}
      ),
      gone AS (
        DELETE FROM tasks t USING page p
        WHERE t.id = p.id AND (
          (t.state IN ('SUCCEEDED', 'CANCELLED', 'EXPIRED') AND t.finished_at < ${page.finishedBefore}::timestamptz)
          OR (t.state = 'DEAD' AND t.finished_at < ${page.deadBefore}::timestamptz))
        RETURNING t.id, t.queue
      ),
      attempts AS (DELETE FROM task_attempts a USING gone g WHERE a.task_id = g.id),
      listed AS (DELETE FROM dead_tasks d USING gone g WHERE d.queue = g.queue AND d.id = g.id)
      SELECT (SELECT count(*) FROM page)::int AS scanned,
        (SELECT count(*) FROM gone)::int AS deleted,
        (SELECT id::text FROM page ORDER BY id DESC LIMIT 1) AS last_id`.execute(this.db);
    const row = result.rows[0]!;
    return { scanned: row.scanned, deleted: row.deleted, lastId: row.last_id };
  }
}
