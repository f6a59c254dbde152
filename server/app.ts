import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { AuthService } from "../gen/taskqueue/v1/auth_service_pb.js";
import { ClusterService } from "../gen/taskqueue/v1/cluster_service_pb.js";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { ScheduleService } from "../gen/taskqueue/v1/schedule_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { WorkerService } from "../gen/taskqueue/v1/worker_service_pb.js";
import { AccessControl } from "./auth/access-control.js";
import { methodPolicies } from "./auth/method-policies.js";
import { TokenCache } from "./auth/token-cache.js";
import { TokenQuotas } from "./auth/token-quotas.js";
import { type CompiledServerOptions } from "./config.js";
import { AuditRepository } from "./db/audit-repository.js";
import { TokenRepository } from "./db/token-repository.js";
import { MAX_SENT_MESSAGE_BYTES, maxReceivedMessageBytes } from "./message-limits.js";
import { openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import { writeProgress } from "./db/progress-writer.js";
import { FinishedTaskDeleter } from "./db/finished-task-deleter.js";
import { OpenAttemptRepairer } from "./db/open-attempt-repairer.js";
import { QueueRepository } from "./db/queue-repository.js";
import { TaskInserter } from "./db/task-inserter.js";
import { TaskRepository } from "./db/task-repository.js";
import { TransitionWriter } from "./db/transition-writer.js";
import { Canceller } from "./engine/canceller.js";
import { DeadLetters } from "./engine/dead-letters.js";
import { DependencyChecks } from "./engine/dependency-checks.js";
import { Dispatcher } from "./engine/dispatcher.js";
import { DurableTransitions } from "./engine/durable-transitions.js";
import { randomToken } from "./engine/ids.js";
import { LeaseEndRouter } from "./engine/lease-end-router.js";
import { LeaseReaper } from "./engine/lease-reaper.js";
import { Notifier } from "./engine/notifier.js";
import { ProgressBuffer } from "./engine/progress-buffer.js";
import { QueueOverview } from "./engine/queue-overview.js";
import { QueueSnapshots } from "./engine/queue-snapshots.js";
import { QueuePauses } from "./engine/queue-pauses.js";
import { QueueSettingsCache } from "./engine/queue-settings-cache.js";
import { hasRunningLimit, queueLimitsOf } from "./engine/queue-settings.js";
import { Recovery } from "./engine/recovery.js";
import { ResultRecorder } from "./engine/result-recorder.js";
import { preciseNowMs } from "./engine/precise-time.js";
import { Retention } from "./engine/retention.js";
import { Scheduler } from "./engine/scheduler.js";
import { ServerRegistry } from "./engine/server-registry.js";
import { ServiceGroup, serviceEntry, stopStep, type GroupEntry } from "./engine/service-group.js";
import type { ShutdownReport } from "./engine/shutdown-budget.js";
import { drainStreams } from "./engine/stream-drain.js";
import { Submitter } from "./engine/submitter.js";
import type { Logger } from "./observability/logger.js";
import { createServerMetrics } from "./observability/metrics.js";
import { QueueGauges } from "./observability/queue-gauges.js";
import { recordDelivered, recordLeaseEnds, recordSubmitted } from "./observability/task-metrics.js";
import { TaskTypeMemo } from "./observability/task-type-memo.js";
import { ResultCommitSpans } from "./observability/result-commit-spans.js";
import { TaskLifecycleLog } from "./observability/task-lifecycle-log.js";
import { createTracingInterceptor } from "./observability/rpc-tracing-interceptor.js";
import { callStepEvents, callTraceContext, carriedTraceContext, traceScheduledTask } from "./observability/trace-context.js";
import { createRpcTraceCaptureInterceptor } from "./observability/rpc-trace.js";
import { recordDispatchSpans } from "./observability/dispatch-spans.js";
import { tracingRequested } from "../wire/otel-sdk.js";
import { ClusterDirectory, type PublishedServer, type PublishedSession } from "./redis/cluster-directory.js";
import { ensureDispatchLayout } from "./redis/layout.js";
import { QueueStats } from "./redis/queue-stats.js";
import { QueueStore } from "./redis/queue-store.js";
import { createAuthService } from "./services/auth-service.js";
import { createClusterService } from "./services/cluster-service.js";
import { withErrorMapping } from "./services/connect-errors.js";
import { decodeConnectRequest } from "./services/connect-request-decoder.js";
import { createDeadLetterService } from "./services/dead-letter-service.js";
import { createQueueService } from "./services/queue-service.js";
import { createScheduleService } from "./services/schedule-service.js";
import { ScheduleFirer } from "./schedules/schedule-firer.js";
import { ScheduleLoop } from "./schedules/schedule-loop.js";
import { ScheduleRepository } from "./schedules/schedule-repository.js";
import type { SubmitPolicy } from "./services/submit-validation.js";
import { decodeSubmitTaskRequest, decodeSubmitTasksRequest } from "./services/submit-request-decoder.js";
import { createTaskService } from "./services/task-service.js";
import { createWorkerService } from "./services/worker-service.js";
import { parseCorsOrigins } from "./transport/cors.js";
import { readTlsMaterial } from "./transport/tls-material.js";
import { redisTlsOptions } from "./redis/redis-tls.js";
import { firstReply, isCluster, openRedis } from "./redis/connection.js";
import { SlotOwnerWatch } from "./redis/slot-owner-watch.js";
import { RedisRestartWatch } from "./redis/restart-watch.js";
import { everySlot } from "./redis/key-slot.js";
import { closeConnection, openEventChannel } from "./redis/event-channel.js";
import { JwtAuthenticator } from "./auth/jwt-authenticator.js";
import { TlsReloader } from "./transport/tls-reload.js";
import { createAuthInterceptor } from "./transport/auth-interceptor.js";
import type { ConnectionLimits } from "./transport/connection-limits.js";
import { createMetricsRoute } from "./transport/metrics-route.js";
import { startGrpcServer, type GrpcServerHandle } from "./transport/grpc-server.js";
import type { ConnectionEvents } from "./transport/guarded-listener.js";
import { healthRegistration } from "./transport/health.js";
import { HealthStatus, ServingStatus } from "./transport/health-status.js";
import { startHttpGateway, type HttpGatewayHandle } from "./transport/http-gateway.js";
import type { CheckState } from "./transport/http-probes.js";
import { registerService } from "./transport/service-registration.js";
import { createStaticFileHandler } from "./transport/static-files.js";
import { useMarkedUtf8InProtobuf } from "./transport/marked-utf8.js";
import { readServerVersion } from "./version.js";

/** Backstop reload of the queues' stored settings (a change is announced at once). */
const QUEUE_SETTINGS_RELOAD_MS = 5_000;

/** Backstop reload of the API tokens (a create or revoke is announced at once). */
const TOKEN_RELOAD_MS = 5_000;

/** A server not heard from for this long counts as dead (its unwritten outcomes are recovered). */
const SERVER_LIVENESS_TTL_MS = 6_000;

/** Deadline for Redis (a cluster: its slot map and a reply) at start-up, ms. */
const REDIS_START_TIMEOUT_MS = 10_000;

/** How often Redis (each master, in a Redis Cluster) is asked who it is (a failover or restart is noticed within this), ms. */
const SLOT_OWNER_CHECK_MS = 1_000;

/** Period of the background dependency checks feeding the gRPC health status, ms. */
const DEPENDENCY_CHECK_INTERVAL_MS = 1_000;
/** A dependency that does not answer a check within this long counts as `timeout`, ms. */
const DEPENDENCY_CHECK_TIMEOUT_MS = 1_000;

/** A running server. */
export interface RunningServer {
  /** Identity of this server process. */
  readonly serverId: string;
  /** Bound gRPC port. */
  readonly grpcPort: number;
  /** Bound HTTP gateway port. */
  readonly httpPort: number;
  /**
   * Drains workers, stops serving and closes every connection, all within `DRAIN_TIMEOUT_MS`
   * + `SHUTDOWN_GRACE_MS` (see ShutdownBudget); resolves with what, if anything, was cut short.
   */
  stop(): Promise<ShutdownReport>;
  /** Runs a full recovery sweep now; returns how many tasks were restored. */
  recover(): Promise<number>;
  /** Ends expired leases now. */
  reapExpired(): Promise<number>;
  /** Deletes every finished task past its retention now; returns how many. */
  applyRetention(): Promise<number>;
  /** How many reads of the queues' figures ListQueues and GetQueue made so far (full and partial). */
  queueOverviewReads(): { full: number; partial: number };
}

/**
 * The composition root: opens Postgres and Redis, migrates, wires the engine, and serves
 * the same service implementations over grpc-js and the Connect gateway. It sets the one
 * process-wide option the server needs: protobuf-es decodes invalid UTF-8 into lone
 * surrogates, which validation refuses (see `marked-utf8.ts`).
 */
export async function startServer(options: CompiledServerOptions, logger: Logger): Promise<RunningServer> {
  // Invalid UTF-8 in a request's strings must be refused, not silently replaced (process-wide).
  useMarkedUtf8InProtobuf();
  // Tracing is on when the OTEL_* variables ask for it (its SDK is started by the register module).
  const tracing = tracingRequested();
  const serverId = `${hostname()}/${process.pid}/${randomToken(4)}`;
  const startedAt = Date.now();
  const version = readServerVersion();
  const database = openDatabase({ url: options.databaseUrl, poolSize: options.databasePoolSize, logger });
  await migrate(database.pool, logger);

  const redisTls = redisTlsOptions({ caFile: options.redisTlsCaFile, certFile: options.redisTlsCertFile, keyFile: options.redisTlsKeyFile });
  const redisOptions = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false };
  // REDIS_CLUSTER_NODES selects a Redis Cluster (see connection.ts), else REDIS_URL's Redis.
  const redisTarget = {
    url: options.redisUrl,
    clusterNodes: options.redisClusterNodes,
    username: options.redisUsername,
    password: options.redisPassword,
    tls: redisTls,
  };
  const redis = openRedis(redisTarget, redisOptions);
  redis.on("error", (error: Error) => logger.warn({ err: error, connection: "redis" }, "redis connection error"));
  const events = openEventChannel(
    redis,
    () => {
      const subscriber = openRedis(redisTarget, { ...redisOptions, maxRetriesPerRequest: null }) as Redis;
      subscriber.on("error", (error: Error) => logger.warn({ err: error, connection: "redis-subscriber" }, "redis connection error"));
      return subscriber;
    },
    logger,
  );
  await firstReply(redis, REDIS_START_TIMEOUT_MS).catch(async (error: unknown) => {
    await events.close();
    redis.disconnect();
    throw error;
  });
  if (isCluster(redis)) logger.info({ masters: redis.nodes("master").length, nodes: redis.nodes("all").length }, "redis cluster connected");

  let draining = false;
  let grpc: GrpcServerHandle | undefined;
  let http: HttpGatewayHandle | undefined;
  // Bytes of responses waiting in the worker streams' buffers, kept by the streams.
  const streamBuffers = { bytes: 0 };
  const metrics = createServerMetrics({
    connectedWorkers: () => dispatcher.connected.size,
    waitingCredits: () => dispatcher.waitingCredits,
    maxQueueLabels: options.metricsMaxQueues,
    queueLabelTtlMs: options.metricsQueueTtlMs,
    maxTypeLabels: options.metricsMaxTypes,
    liveQueues: () => servedQueues(dispatcher),
    openConnections: () => ({ grpc: grpc?.openConnections ?? 0, http: http?.openConnections ?? 0 }),
    workerStreamBufferedBytes: () => streamBuffers.bytes,
  });
  const repository = new TaskRepository(database.db, (query) => metrics.calls.postgresQuery(query));
  // The type of each task leased here, for the attempt duration histogram's label.
  const leasedTypes = new TaskTypeMemo();
  // Traced results' commits as spans in their tasks' traces (nothing kept with tracing off).
  const commitSpans = tracing ? new ResultCommitSpans() : undefined;
  // One debug line per task lifecycle event (nothing at all unless LOG_LEVEL is debug or trace).
  const lifecycle = TaskLifecycleLog.forLogger(logger);
  const store = new QueueStore({ redis, prefix: options.redisPrefix, serverId, observeScript: (name) => metrics.calls.redisScript(name) });
  const writer = new TransitionWriter({
    pool: database.pool,
    windowMs: options.outcomeCommitWindowMs,
    maxBatch: options.commitMaxBatch,
    onBatch: metrics.calls.groupCommit("transition_write"),
  });
  const transitions = new DurableTransitions({ writer, logger });
  const queueRepository = new QueueRepository(database.db);
  const queueSettings = new QueueSettingsCache({
    repository: queueRepository,
    logger,
    intervalMs: QUEUE_SETTINGS_RELOAD_MS,
    announce: () => notifier.settingsChanged(),
  });
  const tokenRepository = new TokenRepository(database.db);
  const tokenCache = new TokenCache({ repository: tokenRepository, logger, intervalMs: TOKEN_RELOAD_MS });
  const jwt =
    options.authJwtJwksUrl === "" && options.authJwtJwksFile === ""
      ? undefined
      : new JwtAuthenticator({
          jwks: { url: options.authJwtJwksUrl, file: options.authJwtJwksFile },
          issuer: options.authJwtIssuer,
          audience: options.authJwtAudience,
          roleClaim: options.authJwtRoleClaim,
          queuesClaim: options.authJwtQueuesClaim,
          refreshIntervalMs: options.authJwtJwksRefreshMs,
          logger,
        });
  const access = new AccessControl({
    mode: options.authMode,
    jwt,
    adminToken: options.adminToken === "" ? undefined : options.adminToken,
    tokens: tokenCache,
    policies: methodPolicies,
    lookups: {
      queuesOfTasks: async (ids) => {
        try {
          return [...(await repository.getMany([...ids])).values()].map((task) => task.queue);
        } catch {
          // A malformed id: the handler answers INVALID_ARGUMENT for it.
          return [];
        }
      },
    },
  });
  const auditRepository = new AuditRepository(database.db);
  const quotas = new TokenQuotas({ submitRate: options.quotaSubmitRate, submitBurst: options.quotaSubmitBurst, workerStreams: options.quotaWorkerStreams });
  const interceptors = [
    createAuthInterceptor(
      access,
      tokenCache,
      (event) => auditRepository.record(event).catch((error: unknown) => logger.error({ err: error, audit: event }, "recording an audit event failed")),
      quotas,
    ),
  ];
  const inserter = new TaskInserter({
    pool: database.pool,
    windowMs: options.commitWindowMs,
    maxBatch: options.commitMaxBatch,
    idempotencyRetentionMs: options.idempotencyRetentionMs,
    onBatch: metrics.calls.groupCommit("task_insert"),
  });
  const connectionEvents: ConnectionEvents = {
    refused: (listener) => metrics.connectionsRefused.inc({ listener }),
    closed: (listener, reason) => metrics.connectionsClosed.inc({ listener, reason }),
  };
  const connections: ConnectionLimits = {
    maxConnections: options.maxConnections,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    idleTimeoutMs: options.connectionIdleTimeoutMs,
    maxStreamsPerConnection: options.maxStreamsPerConnection,
    headersTimeoutMs: options.headersTimeoutMs,
  };

  // Lease ends, ready queues, due times and cancels reach the dispatcher, scheduler and
  // notifier through the router, attached to them below once they exist.
  const routes = new LeaseEndRouter();
  const reaper = new LeaseReaper({ store, repository, transitions, logger, intervalMs: options.reaperIntervalMs, onLeaseEnds: (ends) => routes.leaseEnds(ends) });
  const dispatcher = new Dispatcher({
    store,
    transitions,
    logger,
    leaseDurationMs: options.leaseDurationMs,
    pollMs: options.dispatchPollMs,
    releaseSession: (sessionId, queues, cause) => void reaper.releaseSession(sessionId, queues, cause).catch(() => undefined),
    onDelivered: tracing
      ? (queue, tasks) => {
          const now = Date.now();
          recordDelivered(metrics, queue, tasks, now, leasedTypes);
          recordDispatchSpans(tasks, preciseNowMs());
          commitSpans?.leased(tasks);
          lifecycle?.leased(tasks);
        }
      : (queue, tasks) => {
          recordDelivered(metrics, queue, tasks, Date.now(), leasedTypes);
          lifecycle?.leased(tasks);
        },
    limitsOf: (queue) => queueLimitsOf(queueSettings.get(queue)),
  });
  const scheduler = new Scheduler({ store, transitions, logger, backstopMs: 1_000, onReady: (queues) => routes.ready(queues, { announce: true }) });
  const notifier = new Notifier({
    publisher: events.publisher,
    subscriber: events.subscriber,
    prefix: options.redisPrefix,
    serverId,
    logger,
    onReady: (queue) => dispatcher.wake(queue),
    onDue: (dueMs) => scheduler.notifyDue(dueMs),
    onCancel: (notice) => routes.cancel(notice, { announce: false }),
    onSettings: () => void queueSettings.reload(),
    onSchedules: () => scheduleLoop.rearm(),
    onTokens: () => void tokenCache.reload(),
  });
  routes.attach({
    dispatcher,
    scheduler,
    notifier,
    record: commitSpans
      ? (ends) => {
          recordLeaseEnds(metrics, ends, Date.now(), leasedTypes);
          lifecycle?.ended(ends, (id) => commitSpans.traceOf(id));
          commitSpans.ended(ends);
        }
      : (ends) => {
          recordLeaseEnds(metrics, ends, Date.now(), leasedTypes);
          lifecycle?.ended(ends);
        },
    isLimited: (queue) => hasRunningLimit(queueSettings.get(queue)),
  });
  const recorder = new ResultRecorder({
    store,
    transitions,
    onLeaseEnds: (ends) => routes.leaseEnds(ends, { wokenHere: true }),
    onFenced: (ends) => dispatcher.leasesEnded(ends),
    onStale: (n) => metrics.staleResults.inc(n),
    onCommitted: commitSpans ? (batch) => commitSpans.committed(batch) : undefined,
  });
  const progress = new ProgressBuffer({
    write: (updates) => writeProgress(database.pool, updates),
    logger,
    flushIntervalMs: options.progressFlushIntervalMs,
    onReport: () => metrics.progressReports.inc(),
    onWritten: (n) => metrics.progressWrites.inc(n),
    onDropped: (n) => metrics.progressDropped.inc(n),
  });
  const maxMessageBytes = maxReceivedMessageBytes(options.maxPayloadBytes);
  const queueStats = new QueueStats({ redis, prefix: options.redisPrefix });
  const queueGauges = new QueueGauges({
    metrics,
    intervalMs: options.metricsRefreshMs,
    logger,
    sources: {
      knownQueues: () => queueStats.knownQueues(),
      read: (queues) => queueStats.read(queues),
      deadQueueNames: () => queueRepository.deadQueueNames(),
      deadCounts: (queues) => queueRepository.deadCounts(queues),
      servedQueues: function* () {
        for (const session of dispatcher.connected.values()) if (!session.closed) yield session.queues;
      },
    },
  });
  const pauses = new QueuePauses({
    repository: queueRepository,
    stats: queueStats,
    onResumed: (queue) => {
      dispatcher.wake(queue);
      notifier.ready([queue], { force: true });
    },
  });
  const recovery = new Recovery({
    repository,
    attempts: new OpenAttemptRepairer(database.db),
    store,
    redis,
    transitions,
    logger,
    serverId,
    intervalMs: options.recoveryIntervalMs,
    onReady: (queues) => routes.ready(queues, { announce: true }),
    onDue: (dueMs) => routes.due(dueMs, { announce: false }),
    beforeFullSweep: () => pauses.sync(),
  });
  // A failover or restart of a Redis Cluster master, or a restart of a single Redis from an
  // older snapshot, may have lost its last writes: the queues it holds are then swept from
  // Postgres (a single Redis holds every slot).
  const slotOwners = isCluster(redis)
    ? new SlotOwnerWatch({ cluster: redis, logger, intervalMs: SLOT_OWNER_CHECK_MS, onChanged: (slots, afterMs) => recovery.requestSlots(slots, afterMs) })
    : new RedisRestartWatch({ redis, logger, intervalMs: SLOT_OWNER_CHECK_MS, onRestarted: (afterMs) => recovery.requestSlots(everySlot(), afterMs) });
  const retention = new Retention({
    deleter: new FinishedTaskDeleter(database.db),
    redis,
    prefix: options.redisPrefix,
    serverId,
    logger,
    finishedRetentionMs: options.finishedTaskRetentionMs,
    deadRetentionMs: options.deadTaskRetentionMs,
    queueSettings: () => queueSettings.all(),
    intervalMs: options.retentionIntervalMs,
    onDeleted: (n) => metrics.retentionDeleted.inc(n),
  });
  const directory = new ClusterDirectory({ redis, prefix: options.redisPrefix, serverId, ttlMs: SERVER_LIVENESS_TTL_MS });
  // This server as the cluster directory shows it; undefined until its listeners are bound.
  const describeServer = (): PublishedServer | undefined =>
    grpc && http
      ? {
          serverId,
          address: `${advertisedHost(options.host)}:${grpc.port}`,
          httpAddress: `${advertisedHost(options.host)}:${http.port}`,
          version,
          startedAt,
          draining,
        }
      : undefined;
  const registry = new ServerRegistry({
    redis,
    prefix: options.redisPrefix,
    serverId,
    logger,
    ttlMs: SERVER_LIVENESS_TTL_MS,
    onServersGone: () => recovery.requestFull(),
    // Every refresh republishes this server and its sessions (held tasks, last heartbeats).
    onRefresh: (multi) => {
      const server = describeServer();
      if (server) directory.appendRefresh(multi, server, publishedSessions(dispatcher));
    },
    onLeave: (multi) => directory.appendLeave(multi),
  });
  const overview = new QueueOverview({
    repository: queueRepository,
    stats: queueStats,
    sessions: () => dispatcher.connected.values(),
    otherServersSessions: async () =>
      (await readCluster()).filter((node) => node.server.serverId !== serverId).flatMap((node) => node.sessions),
    defaults: {
      maxAttempts: options.defaultMaxAttempts,
      initialBackoffMs: options.defaultInitialBackoffMs,
      maxBackoffMs: options.defaultMaxBackoffMs,
      backoffMultiplier: options.defaultBackoffMultiplier,
      queueRetryDefaults: options.queueRetryDefaults,
      finishedRetentionMs: options.finishedTaskRetentionMs,
      deadRetentionMs: options.deadTaskRetentionMs,
      maxPayloadBytes: options.maxPayloadBytes,
    },
  });
  const queueSnapshots = new QueueSnapshots({
    readAll: () => overview.readAll(),
    describe: (names) => overview.describe(names),
    maxAgeMs: options.queueOverviewCacheMs,
  });
  const submitter = new Submitter({
    inserter,
    store,
    logger,
    wake: (queues) => routes.ready(queues, { announce: false }),
    announce: (queues) => notifier.ready(queues),
    onAccepted: (tasks) => recordSubmitted(metrics, tasks),
    onEnqueued: (queues) => queueSnapshots.submitted(queues),
    onDue: (dueMs) => routes.due(dueMs, { announce: true }),
    onEnqueueFailed: () => recovery.request(),
  });
  const submitPolicy: SubmitPolicy = {
    maxPayloadBytes: options.maxPayloadBytes,
    defaultMaxAttempts: options.defaultMaxAttempts,
    defaultInitialBackoffMs: options.defaultInitialBackoffMs,
    defaultMaxBackoffMs: options.defaultMaxBackoffMs,
    defaultBackoffMultiplier: options.defaultBackoffMultiplier,
    queueRetryDefaults: options.queueRetryDefaults,
    queueSettings: (queue) => queueSettings.get(queue),
  };
  const scheduleRepository = new ScheduleRepository(database.pool);
  const scheduleFirer = new ScheduleFirer({
    pool: database.pool,
    inserter,
    policy: submitPolicy,
    enqueue: (tasks) => submitter.enqueueCommitted(tasks),
    logger,
    catchupMax: options.scheduleCatchupMax,
    misfireGraceMs: options.scheduleMisfireGraceMs,
    onSubmitted: (lateMs) => metrics.scheduleFireDelay.observe(lateMs / 1000),
    trace: tracing ? { tick: traceScheduledTask } : undefined,
  });
  const scheduleLoop = new ScheduleLoop({ firer: scheduleFirer, logger, maxSleepMs: options.scheduleMaxSleepMs });
  const canceller = new Canceller({ repository, store, pushCancel: (notice) => routes.cancel(notice, { announce: true }) });
  const deadLetters = new DeadLetters({
    repository,
    store,
    logger,
    onReady: (queues) => routes.ready(queues, { announce: true }),
    onEnqueueFailed: () => recovery.requestFull(),
  });

  const health = new HealthStatus({
    initial: {
      "": ServingStatus.SERVING,
      [ClusterService.typeName]: ServingStatus.SERVING,
      [TaskService.typeName]: ServingStatus.SERVING,
      [WorkerService.typeName]: ServingStatus.SERVING,
      [DeadLetterService.typeName]: ServingStatus.SERVING,
      [QueueService.typeName]: ServingStatus.SERVING,
      [ScheduleService.typeName]: ServingStatus.SERVING,
      [AuthService.typeName]: ServingStatus.SERVING,
    },
  });
  // Postgres and Redis, checked every second: the gRPC health status follows them.
  const checks = new DependencyChecks({
    pings: {
      postgres: () => repository.ping(),
      // A connection that is not up fails at once rather than waiting in the offline queue.
      redis: () => (redis.status === "ready" ? redis.ping() : Promise.reject(new Error(`redis connection is ${redis.status}`))),
    },
    timeoutMs: DEPENDENCY_CHECK_TIMEOUT_MS,
    intervalMs: DEPENDENCY_CHECK_INTERVAL_MS,
    logger,
    onReport: (report) => {
      if (!draining) health.setAll(report.ok ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    },
  });
  const readCluster = () => directory.read(registry.knownServers);
  const logDirectoryFailure = (error: unknown) => logger.warn({ err: error }, "cluster directory: publishing a worker session failed");
  const registrations = [
    registerService(
      TaskService,
      withErrorMapping(
        createTaskService({
          submitter,
          repository,
          canceller,
          onCancelled: (queue) => queueSnapshots.invalidate([queue]),
          tracing: tracing ? { carried: carriedTraceContext, steps: (call) => callStepEvents(call.values) } : undefined,
          lifecycle,
          policy: submitPolicy,
        }),
        logger,
      ),
      { submitTask: decodeSubmitTaskRequest, submitTasks: decodeSubmitTasksRequest },
    ),
    registerService(
      WorkerService,
      withErrorMapping(
        createWorkerService({
          dispatcher,
          recorder,
          reaper,
          store,
          progress,
          logger,
          serverId,
          onRecordingFailed: (tasks) => recovery.checkUnwritten(tasks),
          leaseDurationMs: options.leaseDurationMs,
          heartbeatIntervalMs: options.heartbeatIntervalMs,
          maxPayloadBytes: options.maxPayloadBytes,
          maxWorkerCapacity: options.maxWorkerCapacity,
          maxReceiveMessageBytes: maxMessageBytes,
          maxSendMessageBytes: MAX_SENT_MESSAGE_BYTES,
          isDraining: () => draining,
          limits: {
            helloTimeoutMs: options.helloTimeoutMs,
            bufferBytes: options.streamBufferBytes,
            bufferMaxBytes: options.streamBufferMaxBytes,
            stallTimeoutMs: options.streamStallTimeoutMs,
          },
          onStreamEnded: (reason) => metrics.workerStreamsEnded.inc({ reason }),
          buffered: streamBuffers,
          sessions: {
            opened: (session) => void directory.addSession(session).catch(logDirectoryFailure),
            closed: (sessionId) => void directory.removeSession(sessionId).catch(logDirectoryFailure),
          },
        }),
        logger,
      ),
      { connect: decodeConnectRequest },
    ),
    registerService(
      DeadLetterService,
      withErrorMapping(
        createDeadLetterService({
          repository,
          deadLetters,
          changed: (queues) => (queues === "all" ? queueSnapshots.invalidateAll() : queueSnapshots.invalidate(queues)),
        }),
        logger,
      ),
    ),
    registerService(
      QueueService,
      withErrorMapping(
        createQueueService({
          pauses,
          settings: queueSettings,
          overview,
          snapshots: queueSnapshots,
        }),
        logger,
      ),
    ),
    registerService(
      ScheduleService,
      withErrorMapping(
        createScheduleService({
          schedules: scheduleRepository,
          firer: scheduleFirer,
          tasks: repository,
          policy: submitPolicy,
          changed: () => {
            scheduleLoop.rearm();
            notifier.schedulesChanged();
          },
          traceContext: tracing ? callTraceContext : undefined,
        }),
        logger,
      ),
    ),
    registerService(
      ClusterService,
      withErrorMapping(createClusterService({ readCluster, checks, serverId, isDraining: () => draining, logger }), logger),
    ),
    registerService(
      AuthService,
      withErrorMapping(
        createAuthService({
          repository: tokenRepository,
          audit: auditRepository,
          tokensChanged: async () => {
            await tokenCache.reload();
            notifier.tokensChanged();
          },
        }),
        logger,
      ),
    ),
    healthRegistration(health),
  ];

  const layout = await ensureDispatchLayout(redis, options.redisPrefix);
  if (layout === "rebuilt") {
    logger.warn({ prefix: options.redisPrefix }, "dispatch state in Redis had another layout: emptied, recovery rebuilds it from Postgres");
  }
  // A Redis that comes back may have lost its data: check the epoch marker soon after.
  redis.on("ready", () => recovery.request());

  const tlsFiles = { certFile: options.tlsCertFile, keyFile: options.tlsKeyFile, clientCaFile: options.tlsClientCaFile };
  const tlsMaterial = readTlsMaterial(tlsFiles);
  // Certificates renewed on disk are served to new connections without a restart.
  const tlsReloader = tlsMaterial && new TlsReloader({ files: tlsFiles, material: tlsMaterial, intervalMs: options.tlsReloadIntervalMs, logger });
  let serversClosed: Promise<unknown> | undefined;
  const listeners: GroupEntry = {
    step: "starting to close servers",
    deadline: "own",
    start: async () => {
      try {
        grpc = await startGrpcServer({
          host: options.host,
          port: options.grpcPort,
          registrations,
          logger,
          maxReceiveMessageBytes: maxMessageBytes,
          keepalive: { timeMs: 10_000, timeoutMs: 5_000 },
          connections,
          connectionEvents,
          // The RPC span is taken first, while the gRPC instrumentation has it active.
          interceptors: tracing ? [createRpcTraceCaptureInterceptor(), ...interceptors] : interceptors,
          credentials: tlsReloader?.credentials,
        });
        http = await startHttpGateway({
          host: options.host,
          port: options.httpPort,
          registrations,
          logger,
          maxReceiveMessageBytes: maxMessageBytes,
          connections,
          connectionEvents,
          // Traced first (the span covers the auth check), then authorised, as on the gRPC port.
          interceptors: tracing ? [createTracingInterceptor(), ...interceptors] : interceptors,
          staticFiles:
            options.dashboardDir === "" ? undefined : createStaticFileHandler({ root: options.dashboardDir, buildCommand: "npm run build:web", logger }),
          tls: tlsMaterial,
          tlsUpdates: tlsReloader,
          cors: { allowedOrigins: parseCorsOrigins(options.corsOrigins) },
          extraRoutes: createMetricsRoute({ metrics, access: options.metricsAuth === "open" ? undefined : access, logger }),
          ready: async () => {
            const report = await checks.check();
            const states: Record<string, CheckState> = {};
            const errors: Record<string, unknown> = {};
            for (const [name, check] of Object.entries(report.checks)) {
              states[name] = check.state;
              if (check.error !== undefined) errors[name] = check.error;
            }
            if (draining) states.server = "draining";
            return { ok: !draining && report.ok, checks: states, errors };
          },
        });
      } catch (error) {
        await grpc?.shutdown(0);
        throw error;
      }
    },
    // Starts closing: unary calls still running finish meanwhile (forced at the write
    // deadline); worker streams have ended with their status already.
    stop: (budget) => {
      const closeGraceMs = Math.max(0, budget.writeDeadline - Date.now());
      serversClosed = Promise.allSettled([grpc!.shutdown(closeGraceMs), http!.close(closeGraceMs)]);
    },
  };

  // Started in this order, stopped in reverse: every stop is bounded, so the whole shutdown
  // ends by the budget's exit deadline (DRAIN_TIMEOUT_MS + SHUTDOWN_GRACE_MS).
  const group = new ServiceGroup({
    drainTimeoutMs: options.drainTimeoutMs,
    logger,
    entries: [
      stopStep("closing postgres", "exit", () => database.close()),
      stopStep("closing redis", "exit", () => Promise.all([events.close(), closeConnection(redis)])),
      {
        step: "leaving the server registry",
        deadline: "exit",
        start: () => registry.start(),
        // Clean only when nothing was cut short: otherwise the other servers recover at once.
        stop: (budget) => registry.stop({ clean: budget.unfinished.length === 0 }),
      },
      serviceEntry("stopping dependency checks", "exit", checks),
      serviceEntry("stopping notifier", "exit", notifier),
      serviceEntry("stopping the queue settings reload", "exit", queueSettings),
      serviceEntry("stopping the token reload", "exit", tokenCache),
      ...(jwt ? [serviceEntry("stopping the JWKS refresh", "exit", jwt)] : []),
      ...(tlsReloader ? [serviceEntry("stopping the TLS certificate reload", "exit", tlsReloader)] : []),
      stopStep("closing servers", "exit", () => serversClosed),
      stopStep("stopping the transition writer", "own", () => transitions.stop()),
      // Every lease end, result and mark handed to the writer so far is committed (or, past the
      // deadline, left to recovery: the registry then tells the other servers at once).
      stopStep("committing transitions", "write", () => transitions.settled()),
      {
        step: "flushing progress",
        deadline: "write",
        start: () => progress.start(),
        stop: (budget) => progress.stop(Math.max(0, budget.writeDeadline - Date.now())),
      },
      listeners,
      serviceEntry("stopping the queue gauges", "write", queueGauges),
      serviceEntry("stopping retention", "write", retention),
      serviceEntry("stopping recovery", "write", recovery),
      serviceEntry("stopping the redis restart and slot watch", "write", slotOwners),
      serviceEntry("stopping the lease reaper", "write", reaper),
      serviceEntry("stopping the scheduler", "write", scheduler),
      serviceEntry("stopping schedules", "write", scheduleLoop),
      // Results fenced before their streams ended are committed even if their acks are lost.
      stopStep("recording results", "write", () => recorder.idle()),
      stopStep("draining worker streams", "own", (budget) => drainStreams({ dispatcher, budget, logger, reason: "server shutting down" })),
      serviceEntry("stopping dispatch", "drain", dispatcher),
      stopStep("refusing new work", "own", () => {
        draining = true;
        health.setAll(ServingStatus.NOT_SERVING);
        // Other servers' ListServers show this one draining without waiting for the next refresh.
        void registry.refresh();
      }),
    ],
  });
  await group.start();
  // Publishes this server, now that its addresses are known, without waiting for the next refresh.
  await registry.refresh();
  logAuthentication(logger, options, access);
  logger.info({ serverId, grpcPort: grpc!.port, httpPort: http!.port }, "taskqueue server listening");

  let stopping: Promise<ShutdownReport> | undefined;
  const stop = () =>
    (stopping ??= group.stop().then((report) => {
      if (report.complete) logger.info({ serverId, tookMs: report.tookMs }, "taskqueue server stopped");
      else logger.warn({ serverId, ...report }, "taskqueue server stopped; what was cut short is left to recovery");
      return report;
    }));

  return {
    serverId,
    grpcPort: grpc!.port,
    httpPort: http!.port,
    stop,
    recover: () => recovery.tick({ full: true }),
    reapExpired: () => reaper.reapExpired(),
    applyRetention: () => retention.sweep({ full: true }),
    queueOverviewReads: () => queueSnapshots.reads,
  };
}

/** Every connected session as the cluster directory shows it. */
function* publishedSessions(dispatcher: Dispatcher): Iterable<PublishedSession> {
  for (const session of dispatcher.connected.values()) {
    const published = session.describe?.();
    if (published) yield published;
  }
}

/** The host other machines reach this server by: the bound host, or the host name for a wildcard. */
function advertisedHost(host: string): string {
  return host === "0.0.0.0" || host === "::" || host === "" ? hostname() : host;
}

/** The queues some connected worker serves. */
function* servedQueues(dispatcher: Dispatcher): Iterable<string> {
  for (const session of dispatcher.connected.values()) yield* session.queues;
}

/** Says at start-up who may call, and how to use a token. */
function logAuthentication(logger: Logger, options: CompiledServerOptions, access: AccessControl): void {
  if (options.authMode === "none") {
    logger.warn("AUTH_MODE=none: every client that reaches the ports is admin, without a token (never expose this server)");
  } else if (!access.tokensRequired) {
    logger.warn(
      "no API token configured: serving loopback clients only, without a token. To serve other hosts set TQ_ADMIN_TOKEN (e.g. `openssl rand -base64 32`), then create tokens with `TQ_TOKEN=<admin token> tq token create --name NAME --role producer --queue 'emails*'`",
    );
  } else {
    logger.info({ authMode: options.authMode, bootstrapAdminToken: options.adminToken !== "", jwtIssuer: options.authJwtIssuer || undefined }, "API tokens required: clients send `authorization: Bearer <token>` (TQ_TOKEN for tq and the SDKs)");
  }
}
