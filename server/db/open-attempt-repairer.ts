import { sql, type Kysely } from "kysely";
import type { Database } from "./schema.js";

/** A position in `task_attempts` (its primary key): pages start after it. */
export interface AttemptKey {
  taskId: string;
  attempt: number;
}

/** Which attempt rows one page of a repair looks at. */
export interface OpenAttemptPage {
  /** Look at rows after this key, or from the first. */
  after: AttemptKey | null;
  /** Most rows looked at. */
  limit: number;
  /** Leave alone tasks changed less than this long ago (a live server may still be writing), ms. */
  settleMs: number;
}

/** What one page did. */
export interface OpenAttemptPageResult {
  /** Rows looked at. */
  scanned: number;
  /** Rows that got an outcome. */
  repaired: number;
  /** The last row looked at: the next page starts after it (null when none was). */
  last: AttemptKey | null;
}

/** Error stored on a repaired attempt. */
const REPAIRED_ERROR = "the end of this attempt was not recorded (its server stopped first)";

/**
 * Closes attempt rows left open by a server that stopped between ending a lease in Redis and
 * writing that end to Postgres: a row without outcome whose task has moved on to a later
 * attempt, or ended (DEAD, CANCELLED, EXPIRED) at this attempt. Such a row gets outcome
 * WORKER_LOST (how the attempt really ended is unknown: the server that knew is gone), a
 * `finished_at` no later than the next attempt's start, and an error saying why. The final attempt of a SUCCEEDED task is recorded by the task row
 * (the view `task_attempt_history`) and is left alone. Pages go through the primary key.
 *
 * The group-commit writer and the cancel of a queued task close such rows as their task
 * moves on (migration 0007, TaskRepository.markCancelled); recovery runs this once per
 * server start, for rows left before those rules existed or by a path they do not see.
 */
export class OpenAttemptRepairer {
  constructor(private readonly db: Kysely<Database>) {}

  /** Looks at one page of attempt rows and closes those left open. */
  async repairPage(page: OpenAttemptPage): Promise<OpenAttemptPageResult> {
    const afterId = page.after?.taskId ?? "00000000-0000-0000-0000-000000000000";
    const afterAttempt = page.after?.attempt ?? -1;
    const result = await sql<{ scanned: number; repaired: number; last_task_id: string | null; last_attempt: number | null }>`
      WITH page AS (
        SELECT task_id, attempt FROM task_attempts
        WHERE (task_id, attempt) > (${afterId}::uuid, ${afterAttempt}::int)
        ORDER BY task_id, attempt LIMIT ${page.limit}
      ),
      repaired AS (
        UPDATE task_attempts a SET
          outcome = 'WORKER_LOST',
          finished_at = GREATEST(a.started_at, LEAST(now(), COALESCE(
            (SELECT min(n.started_at) FROM task_attempts n WHERE n.task_id = a.task_id AND n.attempt > a.attempt),
            CASE WHEN t.attempt > a.attempt THEN t.started_at END,
            t.finished_at,
            t.updated_at))),
          error = COALESCE(a.error, jsonb_build_object('message', ${REPAIRED_ERROR}::text, 'type', 'LeaseLost', 'attempt', a.attempt))
        FROM page p, tasks t
        WHERE a.task_id = p.task_id AND a.attempt = p.attempt AND t.id = a.task_id
          AND a.outcome IS NULL
          AND (t.attempt > a.attempt OR t.state IN ('DEAD', 'CANCELLED', 'EXPIRED'))
          AND t.updated_at < now() - make_interval(secs => ${page.settleMs}::float8 / 1000.0)
        RETURNING a.task_id
      ),
      last AS (SELECT task_id, attempt FROM page ORDER BY task_id DESC, attempt DESC LIMIT 1)
      SELECT (SELECT count(*) FROM page)::int AS scanned,
        (SELECT count(*) FROM repaired)::int AS repaired,
        (SELECT task_id::text FROM last) AS last_task_id,
        (SELECT attempt FROM last) AS last_attempt`.execute(this.db);
    const row = result.rows[0]!;
    const last = row.last_task_id === null ? null : { taskId: row.last_task_id, attempt: Number(row.last_attempt) };
    return { scanned: row.scanned, repaired: row.repaired, last };
  }
}
