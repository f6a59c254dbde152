import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Logger } from "../observability/logger.js";
import type { Database } from "./schema.js";

/** Options for {@link openDatabase}. */
export interface DatabaseOptions {
  /** Postgres connection URL. */
  url: string;
  /** Pool size. */
  poolSize: number;
  /** Logger for pool errors. */
  logger: Logger;
}

/** The Postgres handles the server uses: the raw pool (hot-path batches) and kysely. */
export interface DatabaseHandle {
  pool: pg.Pool;
  db: Kysely<Database>;
  /** Closes the pool. */
  close(): Promise<void>;
}

/** Opens a pool (connections are made lazily) and a kysely instance over it. */
export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: 5_000,
    // A frozen or partitioned Postgres must not hold callers forever: they get UNAVAILABLE.
    query_timeout: 15_000,
    idleTimeoutMillis: 30_000,
  });
  // A broken idle connection must not crash the process; the next query reconnects.
  pool.on("error", (error) => options.logger.warn({ err: error }, "postgres pool connection error"));
  // Nor a connection that breaks while checked out (a query or transaction under way, e.g. in
  // kysely's driver): pg emits the break on the client as well as failing its queries, and
  // the pool listens only to idle clients. The queries' callers see the failure.
  pool.on("connect", (client) => {
    client.on("error", (error) => options.logger.debug({ err: error }, "postgres connection broke while in use"));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    pool,
    db,
    close: () => db.destroy(),
  };
}
