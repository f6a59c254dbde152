import type pg from "pg";

/**
 * Ids of the jobs that a statement of graphile-worker (its text and values) completes:
 * graphile-worker completes jobs by deleting them, one (`where id = $1`) or a batch
 * (`unnest($1::bigint[])`) at a time. None for any other statement.
 */
export function completedBy(text: string, values: unknown): string[] {
  if (!/^\s*delete from "?\w+"?\._private_jobs\b/i.test(text) || !Array.isArray(values)) return [];
  return (Array.isArray(values[0]) ? values[0] : [values[0]]).map(String);
}

/**
 * Calls `onCommitted(ids)` each time a statement completing jobs, sent by a client of `pool`,
 * has returned from Postgres (graphile-worker runs it outside any transaction, so it is
 * committed by then).
 */
export function countCompletions(pool: pg.Pool, onCommitted: (ids: string[]) => void): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      const first = args[0] as { text?: string; values?: unknown } | string;
      const ids = typeof first === "object" && first !== null ? completedBy(first.text ?? "", first.values ?? args[1]) : [];
      if (ids.length > 0 && result instanceof Promise) void result.then(() => onCommitted(ids), () => undefined);
      return result;
    };
  });
}
