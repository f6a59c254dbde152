import { InvalidArgumentError } from "./errors.js";
import { MAX_PAYLOAD_BYTES_CEILING } from "./message-limits.js";

/** Retry defaults of one queue; unset fields fall back to the server-wide defaults. */
export interface QueueRetryDefaults {
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  backoffMultiplier?: number;
}

/** Server settings, every one optional; see {@link compileServerOptions} for defaults. */
export interface ServerOptions {
  /** gRPC listen port (`GRPC_PORT`), default 50051; 0 picks a free port. */
  grpcPort?: number;
  /** Connect / gRPC-Web / JSON gateway port (`HTTP_PORT`), default 8080; 0 picks a free port. */
  httpPort?: number;
  /** Listen address (`HOST`), default 0.0.0.0. */
  host?: string;
  /** Postgres URL (`DATABASE_URL`). */
  databaseUrl?: string;
  /** Postgres pool size (`DATABASE_POOL_SIZE`), default 10. */
  databasePoolSize?: number;
  /** Redis URL (`REDIS_URL`). */
  redisUrl?: string;
  /** Prefix of every Redis key (`REDIS_PREFIX`), default "tq:". */
  redisPrefix?: string;
  /**
   * Largest accepted payload or result in bytes (`MAX_PAYLOAD_BYTES`), default 1 MiB, at most
   * 4 MiB − 64 KiB (a task with the largest payload must fit in one 4 MiB message).
   */
  maxPayloadBytes?: number;
  /**
   * Highest capacity a worker stream may announce in its hello (`MAX_WORKER_CAPACITY`),
   * default 1000, at most 10000: the most tasks one stream holds at once.
   */
  maxWorkerCapacity?: number;
  /** Lease duration without heartbeat in ms (`LEASE_DURATION_MS`), default 15000. */
  leaseDurationMs?: number;
  /** Heartbeat interval told to workers in ms (`HEARTBEAT_INTERVAL_MS`), default lease / 3. */
  heartbeatIntervalMs?: number;
  /** Default attempts per task (`DEFAULT_MAX_ATTEMPTS`), default 3. */
  defaultMaxAttempts?: number;
  /** Default first retry back-off in ms (`DEFAULT_BACKOFF_MS`), default 1000. */
  defaultInitialBackoffMs?: number;
  /** Default back-off cap in ms (`DEFAULT_MAX_BACKOFF_MS`), default 300000. */
  defaultMaxBackoffMs?: number;
  /** Default back-off multiplier (`DEFAULT_BACKOFF_MULTIPLIER`), default 2. */
  defaultBackoffMultiplier?: number;
  /** How often expired leases are reaped, ms (`REAPER_INTERVAL_MS`), default 500. */
  reaperIntervalMs?: number;
  /** Backstop dispatch poll for queues with waiting credit, ms (`DISPATCH_POLL_MS`), default 1000. */
  dispatchPollMs?: number;
  /** Recovery sweep interval, ms (`RECOVERY_INTERVAL_MS`), default 10000. */
  recoveryIntervalMs?: number;
  /**
   * Group-commit window, ms (`COMMIT_WINDOW_MS`), default 0: a batch goes out on the next turn
   * of the event loop, and under load batches still grow while earlier ones are in flight.
   */
  commitWindowMs?: number;
  /**
   * Group-commit window of the state changes that follow a submit, ms
   * (`OUTCOME_COMMIT_WINDOW_MS`), default 5: results, retries, lease expiries and
   * cancellations. They are off the dispatch path (a worker's slot is reused as soon as Redis
   * has fenced its result), so waiting for company costs dispatch nothing and saves commits
   * at moderate load; each result's ack reaches its worker up to this much later.
   */
  outcomeCommitWindowMs?: number;
  /** Largest batch one group commit writes (`COMMIT_MAX_BATCH`), default 1000. */
  commitMaxBatch?: number;
  /** How long a shutdown waits for in-flight results, ms (`DRAIN_TIMEOUT_MS`), default 10000. */
  drainTimeoutMs?: number;
  /** Log level (`LOG_LEVEL`), default info. */
  logLevel?: string;
  /** How long an idempotency key keeps naming its task, ms (`IDEMPOTENCY_RETENTION_MS`), default 24h. */
  idempotencyRetentionMs?: number;
  /**
   * How long SUCCEEDED, CANCELLED and EXPIRED tasks are kept after they finish, ms
   * (`FINISHED_TASK_RETENTION_MS`), default 7 days; 0 keeps them forever.
   */
  finishedTaskRetentionMs?: number;
  /**
   * How long DEAD tasks are kept after they die, ms (`DEAD_TASK_RETENTION_MS`), default 0:
   * kept until purged or re-driven.
   */
  deadTaskRetentionMs?: number;
  /** How often finished tasks past retention are deleted, ms (`RETENTION_INTERVAL_MS`), default 60000. */
  retentionIntervalMs?: number;
  /**
   * Retry defaults per queue (`QUEUE_RETRY_DEFAULTS`, JSON such as
   * `{"emails": {"maxAttempts": 5, "initialBackoffMs": 500}}`), default none.
   */
  queueRetryDefaults?: Record<string, QueueRetryDefaults>;
  /** Open connections per port (`MAX_CONNECTIONS`), default 5000: more are closed on arrival. */
  maxConnections?: number;
  /** Concurrent HTTP/2 streams (calls) per connection (`MAX_STREAMS_PER_CONNECTION`), default 1000. */
  maxStreamsPerConnection?: number;
  /**
   * How long a new connection may take to send its HTTP/2 preface (gRPC port) or the first
   * bytes that tell its protocol (gateway), ms (`HANDSHAKE_TIMEOUT_MS`), default 10000.
   */
  handshakeTimeoutMs?: number;
  /** How long an HTTP/1.1 request's headers may take to arrive, ms (`HEADERS_TIMEOUT_MS`), default 10000. */
  headersTimeoutMs?: number;
  /** An HTTP/2 connection with no call open this long is closed, ms (`CONNECTION_IDLE_TIMEOUT_MS`), default 300000. */
  connectionIdleTimeoutMs?: number;
  /** A worker stream that sends no hello within this ends, ms (`HELLO_TIMEOUT_MS`), default 10000. */
  helloTimeoutMs?: number;
  /**
   * Responses queued on one worker stream above which the server stops reading the stream
   * and dispatching to it, bytes (estimated) (`STREAM_BUFFER_BYTES`), default 1 MiB.
   */
  streamBufferBytes?: number;
  /**
   * Responses other than leased tasks queued on one worker stream above which it ends, bytes
   * (`STREAM_BUFFER_MAX_BYTES`), default 16 MiB.
   */
  streamBufferMaxBytes?: number;
  /** A worker stream whose client reads nothing for this long while responses wait ends, ms (`STREAM_STALL_TIMEOUT_MS`), default 30000. */
  streamStallTimeoutMs?: number;
  /** Most queues with metric series of their own (`METRICS_MAX_QUEUES`), default 1000. */
  metricsMaxQueues?: number;
  /** A queue idle this long, with no worker serving it, loses its metric series, ms (`METRICS_QUEUE_TTL_MS`), default 1 hour. */
  metricsQueueTtlMs?: number;
}

/** Server settings with every default applied. */
export type CompiledServerOptions = Required<ServerOptions>;

/** Defaults used by {@link compileServerOptions}. */
export const serverDefaults = {
  grpcPort: 50051,
  httpPort: 8080,
  host: "0.0.0.0",
  databaseUrl: "postgres://postgres@127.0.0.1:5432/taskqueue",
  databasePoolSize: 10,
  redisUrl: "redis://127.0.0.1:6379",
  redisPrefix: "tq:",
  maxPayloadBytes: 1024 * 1024,
  maxWorkerCapacity: 1_000,
  leaseDurationMs: 15_000,
  defaultMaxAttempts: 3,
  defaultInitialBackoffMs: 1_000,
  defaultMaxBackoffMs: 300_000,
  defaultBackoffMultiplier: 2,
  reaperIntervalMs: 500,
  dispatchPollMs: 1_000,
  recoveryIntervalMs: 10_000,
  commitWindowMs: 0,
  outcomeCommitWindowMs: 5,
  commitMaxBatch: 1_000,
  drainTimeoutMs: 10_000,
  logLevel: "info",
  idempotencyRetentionMs: 24 * 3600 * 1000,
  finishedTaskRetentionMs: 7 * 24 * 3600 * 1000,
  deadTaskRetentionMs: 0,
  retentionIntervalMs: 60_000,
  queueRetryDefaults: {} as Record<string, QueueRetryDefaults>,
  maxConnections: 5_000,
  maxStreamsPerConnection: 1_000,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  connectionIdleTimeoutMs: 300_000,
  helloTimeoutMs: 10_000,
  streamBufferBytes: 1024 * 1024,
  streamBufferMaxBytes: 16 * 1024 * 1024,
  streamStallTimeoutMs: 30_000,
  metricsMaxQueues: 1_000,
  metricsQueueTtlMs: 3600 * 1000,
};

/** Highest `MAX_WORKER_CAPACITY`. */
const MAX_WORKER_CAPACITY_CEILING = 10_000;

/** Integer settings for which 0 is meaningful (a free port; no commit window; keep forever). */
const ZERO_ALLOWED = new Set<keyof ServerOptions>([
  "grpcPort",
  "httpPort",
  "commitWindowMs",
  "outcomeCommitWindowMs",
  "finishedTaskRetentionMs",
  "deadTaskRetentionMs",
]);

/** Applies defaults and checks ranges. Throws InvalidArgumentError naming the bad setting. */
export function compileServerOptions(options: ServerOptions = {}): CompiledServerOptions {
  const o = { ...serverDefaults, ...stripUndefined(options) };
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? Math.max(100, Math.floor(o.leaseDurationMs / 3));
  const compiled: CompiledServerOptions = { ...o, heartbeatIntervalMs };
  for (const key of [
    "grpcPort",
    "httpPort",
    "databasePoolSize",
    "maxPayloadBytes",
    "maxWorkerCapacity",
    "leaseDurationMs",
    "heartbeatIntervalMs",
    "defaultMaxAttempts",
    "reaperIntervalMs",
    "dispatchPollMs",
    "recoveryIntervalMs",
    "commitWindowMs",
    "outcomeCommitWindowMs",
    "commitMaxBatch",
    "drainTimeoutMs",
    "idempotencyRetentionMs",
    "finishedTaskRetentionMs",
    "deadTaskRetentionMs",
    "retentionIntervalMs",
    "maxConnections",
    "maxStreamsPerConnection",
    "handshakeTimeoutMs",
    "headersTimeoutMs",
    "connectionIdleTimeoutMs",
    "helloTimeoutMs",
    "streamBufferBytes",
    "streamBufferMaxBytes",
    "streamStallTimeoutMs",
    "metricsMaxQueues",
    "metricsQueueTtlMs",
  ] as const) {
    const value = compiled[key];
    const minimum = ZERO_ALLOWED.has(key) ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum) {
      throw new InvalidArgumentError(key, `must be an integer >= ${minimum}, got ${value}`);
    }
  }
  if (compiled.maxPayloadBytes > MAX_PAYLOAD_BYTES_CEILING) {
    throw new InvalidArgumentError("maxPayloadBytes", `must be at most ${MAX_PAYLOAD_BYTES_CEILING} (4 MiB - 64 KiB), got ${compiled.maxPayloadBytes}`);
  }
  if (compiled.maxWorkerCapacity > MAX_WORKER_CAPACITY_CEILING) {
    throw new InvalidArgumentError("maxWorkerCapacity", `must be at most ${MAX_WORKER_CAPACITY_CEILING}, got ${compiled.maxWorkerCapacity}`);
  }
  checkQueueRetryDefaults(compiled.queueRetryDefaults);
  if (compiled.streamBufferMaxBytes < compiled.streamBufferBytes) {
    throw new InvalidArgumentError("streamBufferMaxBytes", "must be at least streamBufferBytes");
  }
  if (compiled.heartbeatIntervalMs >= compiled.leaseDurationMs) {
    throw new InvalidArgumentError("heartbeatIntervalMs", "must be below leaseDurationMs");
  }
  return compiled;
}

/** Reads {@link ServerOptions} from environment variables (unset ones stay undefined). */
export function serverOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const int = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new InvalidArgumentError(name, `must be a number, got "${raw}"`);
    return value;
  };
  return {
    grpcPort: int("GRPC_PORT"),
    httpPort: int("HTTP_PORT"),
    host: env.HOST || undefined,
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int("DATABASE_POOL_SIZE"),
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.REDIS_PREFIX || undefined,
    maxPayloadBytes: int("MAX_PAYLOAD_BYTES"),
    maxWorkerCapacity: int("MAX_WORKER_CAPACITY"),
    leaseDurationMs: int("LEASE_DURATION_MS"),
    heartbeatIntervalMs: int("HEARTBEAT_INTERVAL_MS"),
    defaultMaxAttempts: int("DEFAULT_MAX_ATTEMPTS"),
    defaultInitialBackoffMs: int("DEFAULT_BACKOFF_MS"),
    defaultMaxBackoffMs: int("DEFAULT_MAX_BACKOFF_MS"),
    defaultBackoffMultiplier: int("DEFAULT_BACKOFF_MULTIPLIER"),
    reaperIntervalMs: int("REAPER_INTERVAL_MS"),
    dispatchPollMs: int("DISPATCH_POLL_MS"),
    recoveryIntervalMs: int("RECOVERY_INTERVAL_MS"),
    commitWindowMs: int("COMMIT_WINDOW_MS"),
    outcomeCommitWindowMs: int("OUTCOME_COMMIT_WINDOW_MS"),
    commitMaxBatch: int("COMMIT_MAX_BATCH"),
    drainTimeoutMs: int("DRAIN_TIMEOUT_MS"),
    logLevel: env.LOG_LEVEL || undefined,
    idempotencyRetentionMs: int("IDEMPOTENCY_RETENTION_MS"),
    finishedTaskRetentionMs: int("FINISHED_TASK_RETENTION_MS"),
    deadTaskRetentionMs: int("DEAD_TASK_RETENTION_MS"),
    retentionIntervalMs: int("RETENTION_INTERVAL_MS"),
    queueRetryDefaults: json("QUEUE_RETRY_DEFAULTS", env) as Record<string, QueueRetryDefaults> | undefined,
    maxConnections: int("MAX_CONNECTIONS"),
    maxStreamsPerConnection: int("MAX_STREAMS_PER_CONNECTION"),
    handshakeTimeoutMs: int("HANDSHAKE_TIMEOUT_MS"),
    headersTimeoutMs: int("HEADERS_TIMEOUT_MS"),
    connectionIdleTimeoutMs: int("CONNECTION_IDLE_TIMEOUT_MS"),
    helloTimeoutMs: int("HELLO_TIMEOUT_MS"),
    streamBufferBytes: int("STREAM_BUFFER_BYTES"),
    streamBufferMaxBytes: int("STREAM_BUFFER_MAX_BYTES"),
    streamStallTimeoutMs: int("STREAM_STALL_TIMEOUT_MS"),
    metricsMaxQueues: int("METRICS_MAX_QUEUES"),
    metricsQueueTtlMs: int("METRICS_QUEUE_TTL_MS"),
  };
}

function json(name: string, env: NodeJS.ProcessEnv = process.env): unknown {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(name, `must be JSON: ${(error as Error).message}`);
  }
}

const RETRY_LIMITS: Record<keyof QueueRetryDefaults, [number, number]> = {
  maxAttempts: [1, 100],
  initialBackoffMs: [0, 24 * 3600 * 1000],
  maxBackoffMs: [0, 7 * 24 * 3600 * 1000],
  backoffMultiplier: [1, 100],
};

function checkQueueRetryDefaults(defaults: unknown): void {
  if (typeof defaults !== "object" || defaults === null || Array.isArray(defaults)) {
    throw new InvalidArgumentError("queueRetryDefaults", "must be an object of queue name to retry defaults");
  }
  for (const [queue, value] of Object.entries(defaults as Record<string, unknown>)) {
    if (typeof value !== "object" || value === null) {
      throw new InvalidArgumentError(`queueRetryDefaults.${queue}`, "must be an object");
    }
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const limits = RETRY_LIMITS[key as keyof QueueRetryDefaults];
      if (!limits) throw new InvalidArgumentError(`queueRetryDefaults.${queue}.${key}`, `unknown setting (use ${Object.keys(RETRY_LIMITS).join(", ")})`);
      if (typeof v !== "number" || !(v >= limits[0] && v <= limits[1])) {
        throw new InvalidArgumentError(`queueRetryDefaults.${queue}.${key}`, `must be a number between ${limits[0]} and ${limits[1]}`);
      }
    }
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
