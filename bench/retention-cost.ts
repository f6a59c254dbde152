/**
 * What deleting finished tasks past retention costs, on a private Postgres (fsync on) with the
 * server's schema: `--tasks` tasks created 8 days ago, one in `--keep-every` of them still
 * QUEUED and the others SUCCEEDED, are swept with the server's `FinishedTaskDeleter` (pages of
 * `--page` ids, no pauses, as a full sweep with a 7-day retention), then swept again (only the
 * QUEUED ones are left to look at). Prints tasks deleted per second and Postgres CPU per
 * deleted task.
 *
 *   npx tsx bench/retention-cost.ts [--tasks 1000000] [--keep-every 10] [--page 1000]
 */
import { parseArgs } from "node:util";
import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import { FinishedTaskDeleter } from "../server/db/finished-task-deleter.js";
import { migrate } from "../server/db/migrate.js";
import type { Database } from "../server/db/schema.js";
import { startPostgresProcess } from "../tools/local-services/postgres-process.js";
import { lowestTaskIdAt } from "../server/engine/ids.js";
import { createLogger } from "../server/observability/logger.js";
import { postgresCpu } from "./pg-write-cost/postgres-cpu.js";

const DAY_MS = 86_400_000;

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000000" },
    "keep-every": { type: "string", default: "10" },
    page: { type: "string", default: "1000" },
  },
});
const tasks = Number(values.tasks);
const keepEvery = Number(values["keep-every"]);
const pageSize = Number(values.page);

const postgres = await startPostgresProcess({ fsync: true });
const pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
try {
  await migrate(pool, createLogger({ level: "silent" }));
  const createdFromMs = Date.now() - 8 * DAY_MS;
  console.log(`filling: ${tasks} tasks created 8 days ago, one in ${keepEvery} still QUEUED`);
  // Time-ordered ids as the server makes them: 48 bits of creation milliseconds first.
  await pool.query(
    `INSERT INTO tasks (id, queue, type, payload, payload_format, state, attempt, max_attempts,
       backoff_initial_ms, backoff_max_ms, backoff_multiplier, created_at, updated_at, started_at, finished_at, result, result_format)
     SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
       'q', 'noop', '{}'::bytea, 1, CASE WHEN i % $3 = 0 THEN 'QUEUED' ELSE 'SUCCEEDED' END, 1, 3, 1000, 300000, 2,
       to_timestamp(ms / 1000.0), to_timestamp(ms / 1000.0), to_timestamp(ms / 1000.0),
       CASE WHEN i % $3 = 0 THEN NULL ELSE to_timestamp((ms + 5) / 1000.0) END, '{}'::bytea, 1
     FROM generate_series(0, $1 - 1) AS i,
       LATERAL (SELECT $2::bigint + i AS ms) m,
       LATERAL (SELECT lpad(to_hex(m.ms), 12, '0') AS h) x`,
    [tasks, createdFromMs, keepEvery],
  );
  await pool.query("VACUUM ANALYZE tasks");
  await pool.query("CHECKPOINT");
  const deleter = new FinishedTaskDeleter(db);
  const sweep = async (label: string) => {
    const now = Date.now();
    const before = await postgresCpu(postgres.pid);
    const startedAt = performance.now();
    let afterId: string | null = null;
    let deleted = 0;
    let scanned = 0;
    for (;;) {
      const page = await deleter.deletePage({
        afterId,
        beforeId: lowestTaskIdAt(now - 7 * DAY_MS + 10_000),
        limit: pageSize,
        finishedBefore: new Date(now - 7 * DAY_MS),
        deadBefore: null,
      });
      deleted += page.deleted;
      scanned += page.scanned;
      if (page.scanned < pageSize || page.lastId === null) break;
      afterId = page.lastId;
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = (await postgresCpu(postgres.pid)).total - before.total;
    const perDeleted = deleted > 0 ? `${((cpu * 1e6) / deleted).toFixed(1)} µs of Postgres CPU per deleted task` : "";
    console.log(
      `${label}: looked at ${scanned}, deleted ${deleted} in ${seconds.toFixed(2)} s ` +
        `(${Math.round(scanned / seconds)} looked at/s, ${Math.round(deleted / seconds)} deleted/s); ` +
        `Postgres CPU ${cpu.toFixed(2)} s${perDeleted ? `, ${perDeleted}` : ""}`,
    );
  };
  await sweep("first sweep");
  await sweep("second sweep");
  const size = await pool.query<{ bytes: string }>("select pg_total_relation_size('tasks') as bytes");
  console.log(`tasks table with its indexes: ${(Number(size.rows[0]!.bytes) / 1e6).toFixed(0)} MB before VACUUM`);
} finally {
  await db.destroy();
  await postgres.stop();
}
