import type pg from "pg";
import type { ProgressUpdate } from "../engine/task-records.js";
import { numberArray, textArray } from "./pg-array.js";

/** Sets the progress of the tasks of the unnest arrays that are still RUNNING. */
const PROGRESS_SQL = `
UPDATE tasks t SET progress = jsonb_build_object('percent', u.percent, 'message', u.message), updated_at = now()
FROM unnest($1::uuid[], $2::real[], $3::text[]) AS u(id, percent, message)
WHERE t.id = u.id AND t.state = 'RUNNING'`;

/**
 * Writes the progress of many tasks in one statement, on its own (never in a batch of
 * outcomes); tasks no longer RUNNING are left alone. One update per task: the caller keeps
 * only the latest of each. Messages must already be storable text.
 */
export async function writeProgress(pool: pg.Pool, updates: readonly ProgressUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await pool.query({
    name: "tq_write_progress",
    text: PROGRESS_SQL,
    values: [textArray(updates.map((u) => u.id)), numberArray(updates.map((u) => u.percent)), textArray(updates.map((u) => u.message))],
  });
}
