/**
 * The server's settings, declared once: environment variable, option key, parser and bounds,
 * default and documentation. The options types, the defaults, environment parsing, validation
 * and the README's configuration table (`npm run settings:table`) derive from this table;
 * rules between settings are checked beside it (`cross-setting-checks.ts`). The order is the
 * README's.
 */
import { MAX_PAYLOAD_BYTES_CEILING } from "../message-limits.js";
import { filePath, integer, json, number, oneOf, text, TIMER_MAX_MS, url } from "./kinds.js";
import { checkQueueRetryDefaults, RETRY_LIMITS, type QueueRetryDefaults } from "./queue-retry-defaults.js";
import { defineSetting, derived } from "./setting.js";

/** Levels of the pino logger. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Values of `AUTH_MODE` (see AccessControl). */
export const AUTH_MODES = ["auto", "token", "none"] as const;

/** Values of `METRICS_AUTH`. */
export const METRICS_AUTH_MODES = ["token", "open"] as const;

/** Largest value of an HTTP/2 setting such as `SETTINGS_MAX_CONCURRENT_STREAMS` (2^32 - 1). */
const HTTP2_SETTING_MAX = 2 ** 32 - 1;

/** Every server setting, by option key. */
export const serverSettings = {
  grpcPort: defineSetting({
    env: "GRPC_PORT",
    kind: integer({ min: 0, max: 65_535 }),
    default: 50051,
    doc: "gRPC port (health, reflection, both services)",
  }),
  httpPort: defineSetting({
    env: "HTTP_PORT",
    kind: integer({ min: 0, max: 65_535 }),
    default: 8080,
    doc: "Connect / gRPC-Web / JSON gateway, `/healthz`, `/readyz`",
  }),
  host: defineSetting({
    env: "HOST",
    kind: text(),
    default: "0.0.0.0",
    doc: "listen address",
  }),
  authMode: defineSetting<(typeof AUTH_MODES)[number]>({
    env: "AUTH_MODE",
    kind: oneOf(AUTH_MODES),
    default: "auto",
    doc: "who may call: `auto` requires an API token (`authorization: Bearer <token>`) once one is configured (`TQ_ADMIN_TOKEN` or a token made with `tq token create`) and until then serves loopback clients only, without a token; `token` always requires one; `none` serves everyone as admin without authentication (a warning at start-up)",
  }),
  adminToken: defineSetting({
    env: "TQ_ADMIN_TOKEN",
    kind: text(),
    default: "",
    doc: "bootstrap admin token: callers presenting it are admin (create the other tokens with it). Empty: none. Use a long random value, e.g. `openssl rand -base64 32`",
  }),
  authJwtJwksUrl: defineSetting({
    env: "AUTH_JWT_JWKS_URL",
    kind: text(),
    default: "",
    doc: "JWKS URL of an OpenID Connect provider (its `jwks_uri`): `authorization: Bearer <JWT>` signed RS256 or ES256 by one of its keys is accepted (with `AUTH_JWT_ISSUER`, `AUTH_JWT_AUDIENCE`); the keys are refreshed every `AUTH_JWT_JWKS_REFRESH_MS` and when a token names an unknown `kid`. Empty: no JWTs",
  }),
  authJwtJwksFile: defineSetting({
    env: "AUTH_JWT_JWKS_FILE",
    kind: text(),
    default: "",
    doc: "the same as `AUTH_JWT_JWKS_URL`, from a file (re-read every `AUTH_JWT_JWKS_REFRESH_MS`)",
  }),
  authJwtIssuer: defineSetting({
    env: "AUTH_JWT_ISSUER",
    kind: text(),
    default: "",
    doc: "the `iss` a JWT must carry (required with a JWKS)",
  }),
  authJwtAudience: defineSetting({
    env: "AUTH_JWT_AUDIENCE",
    kind: text(),
    default: "",
    doc: "a value the JWT's `aud` must contain (required with a JWKS)",
  }),
  authJwtRoleClaim: defineSetting({
    env: "AUTH_JWT_ROLE_CLAIM",
    kind: text(),
    default: "tq_role",
    doc: "claim (a dotted path such as `realm_access.roles`) holding the caller's role: `admin`, `operator`, `producer`, `worker` or `viewer`, or a list where the first of these counts",
  }),
  authJwtQueuesClaim: defineSetting({
    env: "AUTH_JWT_QUEUES_CLAIM",
    kind: text(),
    default: "tq_queues",
    doc: "claim (a dotted path) holding the caller's queue patterns (`*` wildcard): a list, or one string separated by spaces or commas. A JWT without it is refused",
  }),
  authJwtJwksRefreshMs: defineSetting({
    env: "AUTH_JWT_JWKS_REFRESH_MS",
    kind: integer({ min: 1_000, max: TIMER_MAX_MS }),
    default: 300_000,
    doc: "how often the JWKS is fetched again (key rotation)",
  }),
  metricsAuth: defineSetting<(typeof METRICS_AUTH_MODES)[number]>({
    env: "METRICS_AUTH",
    kind: oneOf(METRICS_AUTH_MODES),
    default: "token",
    doc: "`/metrics`: `token` needs a viewer, operator or admin token whenever tokens are required (they show queue names, worker ids and volumes); `open` serves it to anyone (for a scraper without credentials)",
  }),
  corsOrigins: defineSetting({
    env: "CORS_ORIGINS",
    kind: text(),
    default: "",
    doc: "origins (comma-separated, e.g. `https://ops.example.com`) whose web pages may call the gateway from a browser; empty: only pages of the gateway itself (same origin, the dashboard); `*`: any page, and then browsers send no credentials",
  }),
  quotaSubmitRate: defineSetting({
    env: "QUOTA_SUBMIT_RATE",
    kind: integer({ min: 0, max: 10_000_000 }),
    default: 10_000,
    doc: "quota: tasks per second each API token may submit to one server (a token bucket in the server's memory; SubmitTasks counts each item); beyond it RESOURCE_EXHAUSTED with the delay in `grpc-retry-pushback-ms`. A token may set its own (`tq token create --submit-rate`). 0: unlimited. `TQ_ADMIN_TOKEN` and unauthenticated callers have no quota",
  }),
  quotaSubmitBurst: defineSetting({
    env: "QUOTA_SUBMIT_BURST",
    kind: integer({ min: 0, max: 100_000_000 }),
    default: 0,
    doc: "quota: tasks a token may submit at once above its rate (the bucket's size); 0: twice `QUOTA_SUBMIT_RATE`",
  }),
  quotaWorkerStreams: defineSetting({
    env: "QUOTA_WORKER_STREAMS",
    kind: integer({ min: 0, max: 1_000_000 }),
    default: 256,
    doc: "quota: WorkerService streams each API token may hold open at once on one server; the next one fails with RESOURCE_EXHAUSTED. A token may set its own (`--max-worker-streams`). 0: unlimited",
  }),
  tlsCertFile: defineSetting({
    env: "TLS_CERT_FILE",
    kind: text(),
    default: "",
    doc: "PEM certificate chain: with `TLS_KEY_FILE`, both ports serve TLS only (gRPC; the gateway's HTTP/1.1 and HTTP/2 chosen by ALPN). Empty: plaintext",
  }),
  tlsKeyFile: defineSetting({
    env: "TLS_KEY_FILE",
    kind: text(),
    default: "",
    doc: "PEM private key of `TLS_CERT_FILE`",
  }),
  tlsClientCaFile: defineSetting({
    env: "TLS_CLIENT_CA_FILE",
    kind: text(),
    default: "",
    doc: "PEM CA certificates: when set (with TLS), both ports require a client certificate signed by one of them (mutual TLS)",
  }),
  tlsReloadIntervalMs: defineSetting({
    env: "TLS_RELOAD_INTERVAL_MS",
    kind: integer({ min: 10, max: TIMER_MAX_MS }),
    default: 5_000,
    doc: "how often the TLS files are checked for a change (a `stat` each); changed files that make a valid certificate and key are served to new connections on both ports, open ones carry on",
  }),
  dashboardDir: defineSetting({
    env: "DASHBOARD_DIR",
    kind: filePath(),
    default: "clients/web/dist",
    doc: "directory of the built web dashboard served at `/` on `HTTP_PORT` (`npm run build:web`); relative to the package root; empty disables the dashboard",
  }),
  databaseUrl: defineSetting({
    env: "DATABASE_URL",
    kind: url(["postgres", "postgresql", "socket"]),
    default: "postgres://postgres@127.0.0.1:5432/taskqueue",
    doc: "Postgres, the system of record",
  }),
  databasePoolSize: defineSetting({
    env: "DATABASE_POOL_SIZE",
    kind: integer({ min: 1 }),
    default: 10,
    doc: "Postgres connections (`1` for PGlite)",
  }),
  redisUrl: defineSetting({
    env: "REDIS_URL",
    kind: url(["redis", "rediss", "unix"]),
    default: "redis://127.0.0.1:6379",
    doc: "Redis, the dispatch state; `rediss://` for TLS (see `REDIS_TLS_*`)",
  }),
  redisClusterNodes: defineSetting({
    env: "REDIS_CLUSTER_NODES",
    kind: text(),
    default: "",
    doc: "Redis Cluster mode: comma-separated `host:port` of some of its nodes (the rest are discovered), e.g. `10.0.0.1:7000,10.0.0.2:7000`; entries may be `rediss://host:port` for TLS (see `REDIS_TLS_*`). Empty: one Redis at `REDIS_URL`. See [Redis Cluster](#redis-cluster)",
  }),
  redisUsername: defineSetting({
    env: "REDIS_USERNAME",
    kind: text(),
    default: "",
    doc: "Redis ACL user, in both modes (overrides one in the URL); empty: the URL's, or `default`",
  }),
  redisPassword: defineSetting({
    env: "REDIS_PASSWORD",
    kind: text(),
    default: "",
    doc: "Redis password (`requirepass` or the ACL user's), in both modes (overrides one in the URL); empty: the URL's, or none",
  }),
  redisTlsCaFile: defineSetting({
    env: "REDIS_TLS_CA_FILE",
    kind: text(),
    default: "",
    doc: "with a `rediss://` `REDIS_URL` (or `rediss://` seeds in `REDIS_CLUSTER_NODES`): PEM CA certificate(s) Redis' certificate must chain to (default: the system's CAs)",
  }),
  redisTlsCertFile: defineSetting({
    env: "REDIS_TLS_CERT_FILE",
    kind: text(),
    default: "",
    doc: "with `rediss://` (`REDIS_URL` or `REDIS_CLUSTER_NODES`): PEM client certificate, for a Redis with `tls-auth-clients yes` (its default)",
  }),
  redisTlsKeyFile: defineSetting({
    env: "REDIS_TLS_KEY_FILE",
    kind: text(),
    default: "",
    doc: "PEM private key of `REDIS_TLS_CERT_FILE`",
  }),
  redisPrefix: defineSetting({
    env: "REDIS_PREFIX",
    // The prefix goes inside the keys' hash tags ({<prefix><queue>}), which braces would break.
    kind: text({ forbidden: /[{}]/, forbiddenDoc: "{ or }" }),
    default: "tq:",
    doc: "prefix of every Redis key (several deployments can share one Redis); it goes inside the keys' hash tags, so no `{` or `}`",
  }),
  maxPayloadBytes: defineSetting({
    env: "MAX_PAYLOAD_BYTES",
    kind: integer({ min: 1, max: MAX_PAYLOAD_BYTES_CEILING }),
    default: 1024 * 1024,
    doc: "largest payload or result, as stored (JSON text or bytes); at most 4 MiB − 64 KiB (`4128768`), so that a task with the largest payload fits in one 4 MiB message to a worker. A JSON payload whose `google.protobuf.Value` form exceeds that is refused too. Requests may be up to 4 MiB or 4 × this, whichever is larger",
  }),
  maxWorkerCapacity: defineSetting({
    env: "MAX_WORKER_CAPACITY",
    kind: integer({ min: 1, max: 10_000 }),
    default: 1_000,
    doc: "highest `capacity` a worker stream may announce (1-10000): the most tasks one stream holds at once",
  }),
  leaseDurationMs: defineSetting({
    env: "LEASE_DURATION_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 15_000,
    doc: "a lease ends this long after the last heartbeat",
  }),
  heartbeatIntervalMs: defineSetting({
    env: "HEARTBEAT_INTERVAL_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: derived("lease / 3", (o) => Math.max(100, Math.floor((o.leaseDurationMs as number) / 3))),
    doc: "heartbeat interval told to workers (every welcome states it and the lease duration)",
  }),
  defaultMaxAttempts: defineSetting({
    env: "DEFAULT_MAX_ATTEMPTS",
    kind: integer({ min: 1, max: RETRY_LIMITS.maxAttempts[1] }),
    default: 3,
    doc: "attempts per task unless the task says otherwise",
  }),
  defaultInitialBackoffMs: defineSetting({
    env: "DEFAULT_BACKOFF_MS",
    kind: integer({ min: 0, max: RETRY_LIMITS.initialBackoffMs[1] }),
    default: 1_000,
    doc: "first retry back-off",
  }),
  defaultMaxBackoffMs: defineSetting({
    env: "DEFAULT_MAX_BACKOFF_MS",
    kind: integer({ min: 0, max: RETRY_LIMITS.maxBackoffMs[1] }),
    default: 300_000,
    doc: "back-off cap",
  }),
  defaultBackoffMultiplier: defineSetting({
    env: "DEFAULT_BACKOFF_MULTIPLIER",
    kind: number({ min: RETRY_LIMITS.backoffMultiplier[0], max: RETRY_LIMITS.backoffMultiplier[1] }),
    default: 2,
    doc: "back-off growth per attempt (with ±50% jitter below the value)",
  }),
  reaperIntervalMs: defineSetting({
    env: "REAPER_INTERVAL_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 500,
    doc: "how often expired leases are ended",
  }),
  dispatchPollMs: defineSetting({
    env: "DISPATCH_POLL_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 1_000,
    doc: "backstop poll for queues with waiting credit (dispatch is pushed)",
  }),
  recoveryIntervalMs: defineSetting({
    env: "RECOVERY_INTERVAL_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "recovery sweep interval (Redis rebuilt from Postgres)",
  }),
  commitWindowMs: defineSetting({
    env: "COMMIT_WINDOW_MS",
    kind: integer({ min: 0, max: TIMER_MAX_MS }),
    default: 0,
    doc: "group-commit window: how long a batch waits for company (0: no wait; with nothing being written a batch goes out as soon as the call that started it is handled, under load at the end of the event-loop turn, and batches grow while earlier ones are being written)",
  }),
  outcomeCommitWindowMs: defineSetting({
    env: "OUTCOME_COMMIT_WINDOW_MS",
    kind: integer({ min: 0, max: TIMER_MAX_MS }),
    default: 5,
    doc: "group-commit window of what follows a submit: results, retries, lease expiries, cancellations. These are off the dispatch path (a worker's slot is reused as soon as Redis has fenced its result), so waiting for company costs dispatch nothing and saves Postgres commits at moderate load; a result's ack reaches its worker up to this much later (0: no wait)",
  }),
  commitMaxBatch: defineSetting({
    env: "COMMIT_MAX_BATCH",
    kind: integer({ min: 1 }),
    default: 1_000,
    doc: "largest group commit",
  }),
  drainTimeoutMs: defineSetting({
    env: "DRAIN_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "on `SIGTERM`/`SIGINT`, how long workers get to finish what they hold; then streams still holding tasks end `UNAVAILABLE`. The whole shutdown (ending streams, committing what they leave, closing connections) takes at most this + 2 s",
  }),
  queueRetryDefaults: defineSetting({
    env: "QUEUE_RETRY_DEFAULTS",
    kind: json<Record<string, QueueRetryDefaults>>(checkQueueRetryDefaults),
    default: {},
    defaultDoc: "none",
    doc: `per-queue retry defaults, JSON: \`{"emails":{"maxAttempts":5,"initialBackoffMs":500,"maxBackoffMs":60000,"backoffMultiplier":3}}\`; settings stored with \`QueueService.UpdateQueue\` take precedence`,
  }),
  idempotencyRetentionMs: defineSetting({
    env: "IDEMPOTENCY_RETENTION_MS",
    kind: integer({ min: 1 }),
    default: 24 * 3600 * 1000,
    doc: "how long an idempotency key keeps naming its task",
  }),
  finishedTaskRetentionMs: defineSetting({
    env: "FINISHED_TASK_RETENTION_MS",
    kind: integer({ min: 0 }),
    default: 7 * 24 * 3600 * 1000,
    doc: "`SUCCEEDED`, `CANCELLED` and `EXPIRED` tasks are deleted this long after they finished (0: kept forever)",
  }),
  deadTaskRetentionMs: defineSetting({
    env: "DEAD_TASK_RETENTION_MS",
    kind: integer({ min: 0 }),
    default: 0,
    doc: "`DEAD` tasks are deleted this long after they died (0: kept until purged or re-driven)",
  }),
  progressFlushIntervalMs: defineSetting({
    env: "PROGRESS_FLUSH_INTERVAL_MS",
    kind: integer({ min: 1, max: 60_000 }),
    default: 250,
    doc: "how often workers' progress reports are written to Postgres (the latest report of each task wins)",
  }),
  retentionIntervalMs: defineSetting({
    env: "RETENTION_INTERVAL_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 60_000,
    doc: "how often finished tasks past retention are deleted",
  }),
  scheduleMaxSleepMs: defineSetting({
    env: "SCHEDULE_MAX_SLEEP_MS",
    kind: integer({ min: 100, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "longest sleep of a server's schedule timer: it wakes at the earliest next tick of all schedules, and at once when a schedule changes anywhere; this is the backstop",
  }),
  scheduleMisfireGraceMs: defineSetting({
    env: "SCHEDULE_MISFIRE_GRACE_MS",
    kind: integer({ min: 0, max: TIMER_MAX_MS }),
    default: 5_000,
    doc: "a schedule tick handled later than this (no server ran) counts as missed: its schedule's catch-up policy decides whether it fires",
  }),
  scheduleCatchupMax: defineSetting({
    env: "SCHEDULE_CATCHUP_MAX",
    kind: integer({ min: 1, max: 10_000 }),
    default: 100,
    doc: "most missed ticks a schedule with catch-up policy `ALL` fires at once (the latest ones)",
  }),
  maxConnections: defineSetting({
    env: "MAX_CONNECTIONS",
    kind: integer({ min: 1 }),
    default: 5_000,
    doc: "open connections per port; further ones are closed on arrival (`taskqueue_connections_refused_total`)",
  }),
  maxStreamsPerConnection: defineSetting({
    env: "MAX_STREAMS_PER_CONNECTION",
    kind: integer({ min: 1, max: HTTP2_SETTING_MAX }),
    default: 1_000,
    doc: "concurrent HTTP/2 streams (calls) per connection, both ports",
  }),
  handshakeTimeoutMs: defineSetting({
    env: "HANDSHAKE_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "a new connection must send its HTTP/2 preface (gRPC port) or the first bytes of its request (gateway) within this, else it is closed",
  }),
  headersTimeoutMs: defineSetting({
    env: "HEADERS_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "an HTTP/1.1 request's headers must arrive within this (gateway; 408 otherwise); the whole request within Node's 5 min, and keep-alive connections close after Node's 5 s",
  }),
  connectionIdleTimeoutMs: defineSetting({
    env: "CONNECTION_IDLE_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 300_000,
    doc: `an HTTP/2 connection with no call open for this long is closed (GOAWAY), both ports (counted as \`reason="idle"\` on the gateway; on the gRPC port grpc-js closes them, uncounted)`,
  }),
  helloTimeoutMs: defineSetting({
    env: "HELLO_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 10_000,
    doc: "a worker stream that sends no `hello` within this ends with `FAILED_PRECONDITION`",
  }),
  streamBufferBytes: defineSetting({
    env: "STREAM_BUFFER_BYTES",
    kind: integer({ min: 1 }),
    default: 1024 * 1024,
    doc: "responses (estimated bytes) queued for a worker stream's client above which the server stops reading the stream and leasing to it, until half is left",
  }),
  streamBufferMaxBytes: defineSetting({
    env: "STREAM_BUFFER_MAX_BYTES",
    kind: integer({ min: 1 }),
    default: 16 * 1024 * 1024,
    doc: "responses other than leased tasks queued for one worker stream above which it ends with `RESOURCE_EXHAUSTED` (at least `STREAM_BUFFER_BYTES`)",
  }),
  streamStallTimeoutMs: defineSetting({
    env: "STREAM_STALL_TIMEOUT_MS",
    kind: integer({ min: 1, max: TIMER_MAX_MS }),
    default: 30_000,
    doc: "a worker stream whose client leaves its responses unread (over the buffer bound) this long ends with `RESOURCE_EXHAUSTED`",
  }),
  metricsMaxQueues: defineSetting({
    env: "METRICS_MAX_QUEUES",
    kind: integer({ min: 1 }),
    default: 1_000,
    doc: `most queues with metric series of their own; further ones share \`queue="_other"\``,
  }),
  metricsQueueTtlMs: defineSetting({
    env: "METRICS_QUEUE_TTL_MS",
    kind: integer({ min: 1 }),
    default: 3600 * 1000,
    doc: "a queue with no activity and no connected worker for this long loses its metric series",
  }),
  metricsMaxTypes: defineSetting({
    env: "METRICS_MAX_TYPES",
    kind: integer({ min: 1 }),
    default: 100,
    doc: `most task types with metric series of their own; further ones share \`type="_other"\``,
  }),
  metricsRefreshMs: defineSetting({
    env: "METRICS_REFRESH_MS",
    kind: integer({ min: 100 }),
    default: 10_000,
    doc: "how often the queue depth gauges (`taskqueue_queue_tasks`, oldest task age) are re-read from Redis' counters and Postgres' dead-letter counts",
  }),
  queueOverviewCacheMs: defineSetting({
    env: "QUEUE_OVERVIEW_CACHE_MS",
    kind: integer({ min: 0, max: 1000 }),
    default: 1000,
    doc: "how long one read of every queue's figures answers ListQueues (and GetQueue meanwhile), shared by concurrent and repeated calls: many pollers cost one read per window. Writes through this server (pause, resume, settings, submits, cancels, dead-letter changes) are seen by the next call; other changes show within this time. 0: every call reads",
  }),
  logLevel: defineSetting({
    env: "LOG_LEVEL",
    kind: oneOf(LOG_LEVELS),
    default: "info",
    doc: "pino level",
  }),
};

/** The option key of a setting. */
export type SettingKey = keyof typeof serverSettings;
