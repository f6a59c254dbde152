/**
 * Postgres CPU per task of the writes the server makes for every task, on a private Postgres
 * (fsync on), for the current schema and statements, the ones first shipped, and variants.
 *
 * Each task costs one row of a batched INSERT into `tasks` (the server's `TaskInserter`) and,
 * at the end, its share of one transition statement that UPDATEs `tasks` to the outcome and
 * upserts the `task_attempts` row (the server's `TransitionWriter`); optionally a share of the
 * tasks is first marked RUNNING, as the dispatcher does for tasks that run longer than its
 * mark delay. Outcomes follow the inserts closely (at most `--lag` tasks behind), as in a
 * running system; `--prefill` first writes that many tasks unmetered (a table that is not
 * new). CPU is read from /proc for the postmaster and all its children (backends, WAL writer,
 * checkpointer, …); autovacuum is off during the window, and the VACUUM that cleans up after
 * the run is measured on its own.
 *
 *   npx tsx bench/pg-write-cost.ts [--tasks 30000] [--repeat 3] [--variants a,b,…]
 *     [--insert-batch 500] [--update-batch 200] [--lag 2000] [--running-share 0] [--prefill 0]
 *
 * Every variant runs in a fresh database of the same Postgres; variants are interleaved
 * across repeats and the table shows medians. The variants are listed in
 * `pg-write-cost/variants.ts` (an unknown name lists them).
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { startPostgresProcess, type PostgresProcess } from "../tools/local-services/postgres-process.js";
import { postgresCpu } from "./pg-write-cost/postgres-cpu.js";
import { DEFAULT_VARIANTS, schemaSql, variants, type Variant } from "./pg-write-cost/variants.js";
import { openWriters, writeTasks, type WorkloadOptions } from "./pg-write-cost/workload.js";

interface Options extends WorkloadOptions {
  tasks: number;
  repeat: number;
  prefill: number;
  variants: Variant[];
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      tasks: { type: "string", default: "30000" },
      repeat: { type: "string", default: "3" },
      "insert-batch": { type: "string", default: "500" },
      "update-batch": { type: "string", default: "200" },
      lag: { type: "string", default: "2000" },
      "running-share": { type: "string", default: "0" },
      prefill: { type: "string", default: "0" },
      variants: { type: "string", default: DEFAULT_VARIANTS.join(",") },
    },
  });
  const chosen = values.variants.split(",").map((name) => {
    const variant = variants.find((v) => v.name === name);
    if (!variant) throw new Error(`unknown variant ${name}; known: ${variants.map((v) => v.name).join(", ")}`);
    return variant;
  });
  return {
    tasks: Number(values.tasks),
    repeat: Number(values.repeat),
    insertBatch: Number(values["insert-batch"]),
    updateBatch: Number(values["update-batch"]),
    lag: Number(values.lag),
    runningShare: Number(values["running-share"]),
    prefill: Number(values.prefill),
    variants: chosen,
  };
}

interface RunResult {
  usPerTask: number;
  backendUsPerTask: number;
  vacuumUsPerTask: number;
  walBytesPerTask: number;
  hotShare: number;
  statements: number;
  seconds: number;
}

/** Creates a database with the variant's schema, writes `options.tasks` tasks and meters Postgres. */
async function runOnce(postgres: PostgresProcess, admin: pg.Client, variant: Variant, options: Options, round: number): Promise<RunResult> {
  const database = `cost_${variant.name.replace(/\W/g, "_")}_${round}`;
  await admin.query(`DROP DATABASE IF EXISTS ${database}`);
  await admin.query(`CREATE DATABASE ${database}`);
  const url = postgres.url.replace(/\/[^/]*$/, `/${database}`);
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  for (const sql of await schemaSql(variant)) await setup.query(sql);
  if (options.prefill > 0) {
    const filling = await openWriters(url, options, variant.legacy ?? false);
    await writeTasks(filling, options.prefill, options);
    await filling.close();
    await untilOnlyBackend(setup);
    await setup.query("VACUUM ANALYZE tasks, task_attempts");
  }
  const writers = await openWriters(url, options, variant.legacy ?? false);
  await setup.query("CHECKPOINT");
  const walBefore = (await setup.query<{ lsn: string }>("select pg_current_wal_lsn() as lsn")).rows[0]!.lsn;
  const statsBefore = await updateCounts(setup);
  const cpuBefore = await postgresCpu(postgres.pid);
  const statementsBefore = writers.statements();
  const startedAt = Date.now();
  await writeTasks(writers, options.tasks, options);
  const seconds = (Date.now() - startedAt) / 1000;
  const cpuAfter = await postgresCpu(postgres.pid);
  const ranStatements = writers.statements() - statementsBefore;
  const walAfter = (await setup.query<{ bytes: string }>("select pg_current_wal_lsn() - $1::pg_lsn as bytes", [walBefore])).rows[0]!.bytes;
  const succeeded = (await setup.query<{ n: string }>("select count(*) as n from tasks where state = 'SUCCEEDED'")).rows[0]!.n;
  await writers.close();
  await untilOnlyBackend(setup);
  const statsAfter = await updateCounts(setup);
  const vacuumBefore = await postgresCpu(postgres.pid);
  await setup.query("VACUUM tasks, task_attempts");
  const vacuumAfter = await postgresCpu(postgres.pid);
  await setup.end();
  await admin.query(`DROP DATABASE ${database}`);
  const expected = options.prefill + options.tasks;
  if (Number(succeeded) !== expected) throw new Error(`${variant.name}: ${succeeded} of ${expected} tasks SUCCEEDED`);
  const perTask = (s: number) => (s * 1e6) / options.tasks;
  const updates = statsAfter.updates - statsBefore.updates;
  return {
    usPerTask: perTask(cpuAfter.total - cpuBefore.total),
    backendUsPerTask: perTask(cpuAfter.backends - cpuBefore.backends),
    vacuumUsPerTask: perTask(vacuumAfter.total - vacuumBefore.total),
    walBytesPerTask: Number(walAfter) / options.tasks,
    hotShare: updates > 0 ? (statsAfter.hot - statsBefore.hot) / updates : 0,
    statements: ranStatements,
    seconds,
  };
}

/** Row updates of `tasks` so far, and how many of them were HOT (statistics of ended sessions). */
async function updateCounts(client: pg.Client): Promise<{ updates: number; hot: number }> {
  const { rows } = await client.query<{ updates: string; hot: string }>(
    "select n_tup_upd as updates, n_tup_hot_upd as hot from pg_stat_user_tables where relname = 'tasks'",
  );
  return { updates: Number(rows[0]?.updates ?? 0), hot: Number(rows[0]?.hot ?? 0) };
}

/** Waits until `client` is the only backend of its database (the pool's have exited and been reaped). */
async function untilOnlyBackend(client: pg.Client): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    if (Number(rows[0]!.n) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function printTable(options: Options, results: Map<string, RunResult[]>): void {
  const header = ["variant", "µs/task", "backends", "vacuum", "WAL B/task", "HOT %", "stmts", "runs µs/task", "about"];
  const rows = options.variants.map((v) => {
    const runs = results.get(v.name) ?? [];
    const m = (pick: (r: RunResult) => number) => median(runs.map(pick));
    return [
      v.name,
      m((r) => r.usPerTask).toFixed(1),
      m((r) => r.backendUsPerTask).toFixed(1),
      m((r) => r.vacuumUsPerTask).toFixed(1),
      m((r) => r.walBytesPerTask).toFixed(0),
      (100 * m((r) => r.hotShare)).toFixed(0),
      m((r) => r.statements).toFixed(0),
      runs.map((r) => r.usPerTask.toFixed(0)).join(" "),
      v.about,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  console.log(
    `\n${options.tasks} tasks per run, inserts of ${options.insertBatch}, outcomes handed over ${options.updateBatch} at a time ` +
      `(split over the writer's lanes), ${options.runningShare * 100}% marked RUNNING first, ${options.prefill} tasks written before; ` +
      `medians of ${options.repeat}. ` +
      "µs/task: all Postgres processes during the writes; vacuum: the VACUUM afterwards.",
  );
}

async function main(): Promise<void> {
  const options = parseOptions();
  const postgres = await startPostgresProcess({ fsync: true, settings: { autovacuum: "off" } });
  const admin = new pg.Client({ connectionString: postgres.url.replace(/\/[^/]*$/, "/postgres") });
  try {
    await admin.connect();
    const results = new Map<string, RunResult[]>();
    for (let round = 0; round < options.repeat; round++) {
      for (const variant of options.variants) {
        const result = await runOnce(postgres, admin, variant, options, round);
        results.set(variant.name, [...(results.get(variant.name) ?? []), result]);
        console.error(
          `[pg-write-cost] round ${round + 1} ${variant.name}: ${result.usPerTask.toFixed(1)} µs/task, ` +
            `${result.statements} statements, ${result.seconds.toFixed(1)} s`,
        );
      }
    }
    printTable(options, results);
  } finally {
    await admin.end().catch(() => undefined);
    await postgres.stop();
  }
}

await main();
