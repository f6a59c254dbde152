import pg from "pg";

/** Postgres error codes meaning "not ready yet, try again". */
const TRANSIENT_CODES = new Set(["57P03", "ECONNREFUSED", "ECONNRESET", "ENOENT"]);

/**
 * Connects to `connectionString` until a connection succeeds and `select 1` answers, re-trying
 * transient failures (refused, "the database system is starting up") until `deadline`
 * (epoch ms). `isAlive` aborts early when the server process has died. Resolves the last
 * error's message on failure instead of throwing, so the caller can add its own context.
 */
export async function waitUntilPostgresAnswers(
  connectionString: string,
  deadline: number,
  isAlive: () => boolean,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let reason = "no attempt made";
  while (isAlive() && Date.now() < deadline) {
    const client = new pg.Client({
      connectionString,
      connectionTimeoutMillis: Math.max(100, Math.min(2_000, deadline - Date.now())),
    });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query("select 1");
      return { ok: true };
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      reason = (error as Error).message;
      if (!TRANSIENT_CODES.has(code)) return { ok: false, reason };
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return { ok: false, reason: isAlive() ? `not answering before the deadline (${reason})` : "process exited" };
}

/** Creates database `name` through `adminConnectionString` unless it already exists. */
export async function ensureDatabase(adminConnectionString: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminConnectionString });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const existing = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (existing.rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(name)}`);
    }
  } finally {
    await client.end();
  }
}
