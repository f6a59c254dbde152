import type pg from "pg";
import type { ProgressUpdate } from "../engine/task-records.js";
import { numberArray, textArray } from "./pg-array.js";

/**
 * Sets the progress of the tasks of the unnest arrays that are RUNNING, and returns the ids of
 * those not RUNNING *yet*: leased, but their RUNNING mark (written shortly after the lease)
 * has not committed. Tasks that have finished are left alone and not returned.
 */
const PROGRESS_SQL = `
WITH u AS (SELECT * FROM unnest($1::uuid[], $2::real[], $3::text[]) AS u(id, percent, message)),
written AS (
  UPDATE tasks t SET progress = jsonb_build_object('percent', u.percent, 'message', u.message), updated_at = now()
  FROM u WHERE t.id = u.id AND t.state = 'RUNNING'
)
SELECT t.id FROM tasks t JOIN u ON t.id = u.id WHERE t.state IN ('QUEUED', 'SCHEDULED', 'FAILED')`;

/**
 * Writes the progress of many tasks in one statement, on its own (never in a batch of
 * outcomes); tasks no longer RUNNING are left alone. One update per task: the caller keeps
 * only the latest of each. Messages must already be storable text. Resolves with the ids of
 * the tasks not marked RUNNING yet (see PROGRESS_SQL), whose progress the caller may try again.
 */
export async function writeProgress(pool: pg.Pool, updates: readonly ProgressUpdate[]): Promise<string[]> {
  if (updates.length === 0) return [];
  const result = await pool.query<{ id: string }>({
    name: "tq_write_progress_v2",
    text: PROGRESS_SQL,
    values: [textArray(updates.map((u) => u.id)), numberArray(updates.map((u) => u.percent)), textArray(updates.map((u) => u.message))],
  });
  return result.rows.map((r) => r.id);
}
