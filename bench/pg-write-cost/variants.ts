import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const migrationsDir = fileURLToPath(new URL("../../server/db/migrations/", import.meta.url));

/**
 * A schema and statements to measure: migrations up to `upTo` (all when absent), then
 * `extra` statements; with `legacy`, the writers' statements as first shipped.
 */
export interface Variant {
  name: string;
  about: string;
  upTo?: string;
  extra: string[];
  legacy?: boolean;
}

/**
 * The transition statement as first shipped (before migration 0003): the body of
 * `tq_record_transitions` sent, and planned, with every batch. Same parameters.
 */
const LEGACY_TRANSITIONS_SQL = `
WITH updated AS (
  UPDATE tasks t SET
    state = u.state, attempt = u.attempt, worker_id = COALESCE(u.worker_id, t.worker_id),
    started_at = COALESCE(to_timestamp(u.started_at / 1000.0), t.started_at),
    finished_at = to_timestamp(u.finished_at / 1000.0),
    scheduled_at = CASE WHEN u.state IN ('FAILED', 'SCHEDULED') THEN to_timestamp(u.scheduled_at / 1000.0) ELSE t.scheduled_at END,
    result = u.result, result_format = u.result_format, last_error = COALESCE(u.error::jsonb, t.last_error),
    updated_at = now()
  FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::float8[],
              $7::float8[], $8::bytea[], $9::smallint[], $10::text[])
    AS u(id, state, attempt, worker_id, started_at, finished_at, scheduled_at, result, result_format, error)
  WHERE t.id = u.id
    AND t.state NOT IN ('SUCCEEDED', 'DEAD', 'CANCELLED', 'EXPIRED')
    AND (t.attempt < u.attempt OR (t.attempt = u.attempt AND u.state <> 'RUNNING')))
INSERT INTO task_attempts (task_id, attempt, worker_id, started_at, finished_at, outcome, error)
SELECT u.task_id, u.attempt, u.worker_id, to_timestamp(u.started_at / 1000.0), to_timestamp(u.finished_at / 1000.0),
  u.outcome, u.error::jsonb
FROM unnest($11::uuid[], $12::int[], $13::text[], $14::float8[], $15::float8[], $16::text[], $17::text[])
  AS u(task_id, attempt, worker_id, started_at, finished_at, outcome, error)
WHERE EXISTS (SELECT 1 FROM tasks WHERE id = u.task_id)
ON CONFLICT (task_id, attempt) DO UPDATE SET
  finished_at = COALESCE(EXCLUDED.finished_at, task_attempts.finished_at),
  outcome = COALESCE(EXCLUDED.outcome, task_attempts.outcome),
  error = COALESCE(EXCLUDED.error, task_attempts.error)`;

/** As first shipped, every insert checked idempotency-key conflicts, keys or not. */
const LEGACY_INSERT_SUFFIX = `
ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id`;

/** Turns a statement of the server's writers into its first-shipped form. */
export function legacyStatement(text: string): string {
  if (text.includes("tq_record_transitions(")) return LEGACY_TRANSITIONS_SQL;
  if (/^\s*INSERT INTO tasks/.test(text) && !text.includes("ON CONFLICT")) return text + LEGACY_INSERT_SUFFIX;
  return text;
}

const ORIGINAL = "0002";
const DROP_FK = "ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey";
const ADD_FK =
  "ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_task_id_fkey FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE";
const FILLFACTOR_70 = "ALTER TABLE tasks SET (fillfactor = 70)";
const DROP_STATE_INDEXES = "DROP INDEX tasks_unfinished, tasks_dead";
const DROP_QUEUE_INDEX = "DROP INDEX tasks_queue_id";

/** Every variant the script knows. */
export const variants: Variant[] = [
  { name: "original", about: "schema and statements as first shipped (migrations 0001-0002)", upTo: ORIGINAL, extra: [], legacy: true },
  { name: "no-fk", about: "original without the task_attempts foreign key", upTo: ORIGINAL, extra: [DROP_FK], legacy: true },
  { name: "ff70", about: "original with fillfactor 70 on tasks", upTo: ORIGINAL, extra: [FILLFACTOR_70], legacy: true },
  {
    name: "hot",
    about: "original with fillfactor 70 and no index on state (the outcome UPDATE can be HOT)",
    upTo: ORIGINAL,
    extra: [FILLFACTOR_70, DROP_STATE_INDEXES],
    legacy: true,
  },
  { name: "no-queue-index", about: "original without tasks_queue_id", upTo: ORIGINAL, extra: [DROP_QUEUE_INDEX], legacy: true },
  {
    name: "0004",
    about: "migrations up to 0004: the partial indexes on state, so no outcome update is HOT",
    upTo: "0004",
    extra: [],
  },
  { name: "0004+fk", about: "0004 with the foreign key back", upTo: "0004", extra: [ADD_FK] },
  {
    name: "0004+hot",
    about: "0004 with fillfactor 70 and no index on state",
    upTo: "0004",
    extra: [FILLFACTOR_70, DROP_STATE_INDEXES],
  },
  {
    name: "0005",
    about: "migrations up to 0005: outcome statements planned anew with every call (custom plans)",
    upTo: "0005",
    extra: [],
  },
  { name: "current", about: "every migration in server/db/migrations, the server's statements", extra: [] },
  {
    name: "current-no-plan-settings",
    about: "current, the function without its planner settings",
    extra: ["ALTER FUNCTION tq_record_transitions RESET ALL"],
  },
  { name: "current-ff100", about: "current with pages filled whole (fillfactor 100)", extra: ["ALTER TABLE tasks SET (fillfactor = 100)"] },
  {
    name: "current-min-indexes",
    about: "current without tasks_queue_id: only the primary keys and the idempotency index, the floor of index cost",
    extra: [DROP_QUEUE_INDEX],
  },
];

/** Variants measured when `--variants` is not given. */
export const DEFAULT_VARIANTS = ["original", "hot", "0004", "0004+hot", "current", "current-ff100"];

/** The statements that create the variant's schema in an empty database. */
export async function schemaSql(variant: Variant): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const chosen = variant.upTo === undefined ? files : files.filter((f) => f.slice(0, 4) <= variant.upTo!);
  const texts = await Promise.all(chosen.map((f) => readFile(migrationsDir + f, "utf8")));
  return [...texts, ...variant.extra];
}
