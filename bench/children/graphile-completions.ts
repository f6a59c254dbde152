import type pg from "pg";

/**
 * Jobs that a statement of graphile-worker (its text and values) completes: graphile-worker
 * completes jobs by deleting them, one (`where id = $1`) or a batch (`unnest($1::bigint[])`)
 * at a time. 0 for any other statement.
 */
export function completedBy(text: string, values: unknown): number {
  if (!/^\s*delete from "?graphile_worker"?\._private_jobs\b/i.test(text) || !Array.isArray(values)) return 0;
  return Array.isArray(values[0]) ? values[0].length : 1;
}

/**
 * Calls `onCommitted(n)` each time a statement completing `n` jobs, sent by a client of `pool`,
 * has returned from Postgres (graphile-worker runs it outside any transaction, so it is
 * committed by then).
 */
export function countCompletions(pool: pg.Pool, onCommitted: (jobs: number) => void): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const result = query(...args);
      const first = args[0] as { text?: string; values?: unknown } | string;
      const jobs = typeof first === "object" && first !== null ? completedBy(first.text ?? "", first.values ?? args[1]) : 0;
      if (jobs > 0 && result instanceof Promise) void result.then(() => onCommitted(jobs), () => undefined);
      return result;
    };
  });
}
