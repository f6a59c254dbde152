import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../server/db/database.js";
import { createLogger } from "../server/observability/logger.js";
import { startPostgresProcess } from "../tools/local-services/postgres-process.js";
import { waitFor } from "./support/wait-for.js";

/**
 * A Postgres connection that breaks while a query runs on it: pg fails the query and also
 * emits the break on the client, which the pool listens to only while the client is idle.
 * Unheard, that event is an uncaught exception: the server process would die with Postgres.
 */

const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);

afterEach(() => {
  process.off("uncaughtException", onUncaught);
});

describe("a Postgres connection that breaks while in use", () => {
  it("fails the query under way and nothing else: no uncaught error", async () => {
    process.on("uncaughtException", onUncaught);
    const postgres = await startPostgresProcess({ fsync: false });
    const database = openDatabase({ url: postgres.url, poolSize: 2, logger: createLogger({ level: "silent" }) });
    try {
      await sql`select 1`.execute(database.db);
      const query = sql`select pg_sleep(30)`.execute(database.db);
      const outcome = query.then(
        () => "resolved",
        (error: Error) => error.message,
      );
      // The query holds the pool's one connection while it runs.
      await waitFor(() => database.pool.totalCount === 1 && database.pool.idleCount === 0, {
        timeoutMs: 5_000,
        message: "the query to hold its connection",
      });
      await postgres.kill("SIGKILL");
      expect(await outcome).toMatch(/terminated|ECONNRESET/);
      // The break's own event has been emitted by now (before the query failed).
      expect(uncaught).toEqual([]);
    } finally {
      await database.close().catch(() => undefined);
      await postgres.stop();
    }
  });
});
