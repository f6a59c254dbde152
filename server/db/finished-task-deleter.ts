import { sql, type Kysely } from "kysely";
import { numberArray, textArray } from "./pg-array.js";
import type { Database } from "./schema.js";

/**
 * One queue's own cut-offs: undefined falls back to the page's, null keeps the queue's tasks
 * of that kind forever.
 */
export interface QueueCutoffs {
  queue: string;
  finishedBefore?: Date | null;
  deadBefore?: Date | null;
}

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
  /** Queues with their own retention (UpdateQueue): their cut-offs replace the two above. */
  queues?: readonly QueueCutoffs[];
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

/** A queue cut-off as epoch ms for the statement: NULL falls back, -Infinity keeps forever. */
function cutoffMs(cutoff: Date | null | undefined): number | null {
  if (cutoff === undefined) return null;
  return cutoff === null ? -Infinity : cutoff.getTime();
}

/**
 * Deletes finished tasks past their retention, a page of ids at a time. Pages are read
 * through the primary key (no index mentions `state` or `finished_at`, so that outcome
 * updates stay HOT); each page deletes the rows it qualifies, their attempt rows and their
 * dead-letter entries in one statement. A queue with its own retention is judged by its
 * cut-offs (a small list joined per row). The conditions are checked again on the row being
 * deleted, so a task re-driven meanwhile is kept.
 */
export class FinishedTaskDeleter {
  constructor(private readonly db: Kysely<Database>) {}

  /** Looks at one page of tasks and deletes those past retention. */
  async deletePage(page: FinishedTaskPage): Promise<FinishedTaskPageResult> {
    const after = page.afterId ?? "00000000-0000-0000-0000-000000000000";
    const queues = page.queues ?? [];
    const result = await sql<{ scanned: number; deleted: number; last_id: string | null }>`
      WITH own AS (
        SELECT queue, to_timestamp(finished_ms / 1000.0) AS finished_before, to_timestamp(dead_ms / 1000.0) AS dead_before
        FROM unnest(${textArray(queues.map((q) => q.queue))}::text[],
          ${numberArray(queues.map((q) => cutoffMs(q.finishedBefore)))}::float8[],
          ${numberArray(queues.map((q) => cutoffMs(q.deadBefore)))}::float8[]) AS u(queue, finished_ms, dead_ms)
      ),
      page AS (
        SELECT id FROM tasks WHERE id > ${after}::uuid AND id < ${page.beforeId}::uuid ORDER BY id LIMIT ${page.limit}
      ),
      gone AS (
        DELETE FROM tasks t USING page p
        WHERE t.id = p.id AND (
          (t.state IN ('SUCCEEDED', 'CANCELLED', 'EXPIRED') AND t.finished_at <
            COALESCE((SELECT o.finished_before FROM own o WHERE o.queue = t.queue), ${page.finishedBefore}::timestamptz))
          OR (t.state = 'DEAD' AND t.finished_at <
            COALESCE((SELECT o.dead_before FROM own o WHERE o.queue = t.queue), ${page.deadBefore}::timestamptz)))
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
