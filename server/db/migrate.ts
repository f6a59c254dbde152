import { readdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { Logger } from "../observability/logger.js";

const migrationsDir = fileURLToPath(new URL("./migrations/", import.meta.url));

/** Arbitrary constant key of the advisory lock that serialises migrations across servers. */
const MIGRATION_LOCK_KEY = 7_263_100_001;

/**
 * Applies the numbered `migrations/NNNN_name.sql` files that have not run yet, each in its
 * own transaction, in order. Safe when several servers start at once: a Postgres advisory
 * lock lets one migrate while the others wait, then find nothing left to do.
 * @returns the names of the migrations applied by this call
 */
export async function migrate(pool: pg.Pool, logger: Logger): Promise<string[]> {
  const files = (await readdir(migrationsDir)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    for (const file of files) {
      if (done.has(file)) continue;
      const text = await readFile(migrationsDir + file, "utf8");
      await client.query("BEGIN");
      try {
        await client.query(text);
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [file]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
      applied.push(file);
      logger.info({ migration: file }, "migration applied");
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}
