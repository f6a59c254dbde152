import { Counter, Histogram, type Registry } from "prom-client";

/**
 * Observes one call to a store (a Redis script, a group-commit batch): how many items it
 * carried, how long it took in seconds, and whether it failed. Called once per call, never
 * per task.
 */
export type CallObserver = (items: number, seconds: number, failed: boolean) => void;

/** Buckets of the store call latency histograms, seconds (100 µs to 10 s). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];
/** Buckets of the group-commit batch size histogram, items. */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** The metrics of the server's calls to Redis and Postgres (see {@link createCallMetrics}). */
export interface CallMetrics {
  /** An observer for calls of one Redis script (by name: enqueue, lease, complete, ...). */
  redisScript(script: string): (seconds: number, failed: boolean) => void;
  /** An observer for batches of one group-committed Postgres writer (task_insert, transition_write). */
  groupCommit(writer: string): CallObserver;
  /** An observer for one kind of Postgres read (get_task, task_attempts, list_tasks). */
  postgresQuery(query: string): (seconds: number, failed: boolean) => void;
}

/**
 * Latency and error metrics of the calls that carry the hot path: every Lua script call to
 * Redis (`taskqueue_redis_call_duration_seconds{script}`, `taskqueue_redis_call_errors_total`)
 * and every group-commit batch written to Postgres (`taskqueue_group_commit_duration_seconds{writer}`,
 * `taskqueue_group_commit_batch_size{writer}`, `taskqueue_group_commit_errors_total`), and the
 * reads behind GetTask and ListTasks (`taskqueue_postgres_query_duration_seconds{query}`,
 * `taskqueue_postgres_query_errors_total{query}`). Labels are fixed names from the code, so
 * their cardinality is bounded.
 */
export function createCallMetrics(registry: Registry): CallMetrics {
  const registers = [registry];
  const redisDuration = new Histogram({
    name: "taskqueue_redis_call_duration_seconds",
    help: "Duration of the server's Lua script calls to Redis, by script (each call carries a whole batch of tasks).",
    labelNames: ["script"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const redisErrors = new Counter({
    name: "taskqueue_redis_call_errors_total",
    help: "Lua script calls to Redis that failed (connection lost, timeout, script error), by script.",
    labelNames: ["script"],
    registers,
  });
  const commitDuration = new Histogram({
    name: "taskqueue_group_commit_duration_seconds",
    help: "Duration of one group-commit batch written to Postgres (one transaction), by writer.",
    labelNames: ["writer"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const commitSize = new Histogram({
    name: "taskqueue_group_commit_batch_size",
    help: "Rows (tasks or transitions) written by one group-commit batch, by writer.",
    labelNames: ["writer"],
    buckets: BATCH_SIZE_BUCKETS,
    registers,
  });
  const commitErrors = new Counter({
    name: "taskqueue_group_commit_errors_total",
    help: "Group-commit batches that Postgres failed or refused, by writer.",
    labelNames: ["writer"],
    registers,
  });
  const queryDuration = new Histogram({
    name: "taskqueue_postgres_query_duration_seconds",
    help: "Duration of the server's reads from Postgres outside the group commits (GetTask, ListTasks), by query.",
    labelNames: ["query"],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const queryErrors = new Counter({
    name: "taskqueue_postgres_query_errors_total",
    help: "Reads from Postgres that failed, by query.",
    labelNames: ["query"],
    registers,
  });
  /** One series of a duration histogram and its error counter, created (at zero) up front. */
  const timed = (duration: Histogram, errorCounter: Counter, labels: Record<string, string>) => {
    const observed = duration.labels(labels);
    const errors = errorCounter.labels(labels);
    errors.inc(0);
    return (seconds: number, failed: boolean) => {
      observed.observe(seconds);
      if (failed) errors.inc();
    };
  };
  return {
    redisScript: (script) => timed(redisDuration, redisErrors, { script }),
    postgresQuery: (query) => timed(queryDuration, queryErrors, { query }),
    groupCommit(writer) {
      const duration = commitDuration.labels({ writer });
      const size = commitSize.labels({ writer });
      const errors = commitErrors.labels({ writer });
      errors.inc(0);
      return (items, seconds, failed) => {
        duration.observe(seconds);
        size.observe(items);
        if (failed) errors.inc();
      };
    },
  };
}
