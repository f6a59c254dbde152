import { hostname } from "node:os";
import { Redis } from "ioredis";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { WorkerService } from "../gen/taskqueue/v1/worker_service_pb.js";
import { type CompiledServerOptions } from "./config.js";
import { MAX_SENT_MESSAGE_BYTES, maxReceivedMessageBytes } from "./message-limits.js";
import { openDatabase } from "./db/database.js";
import { migrate } from "./db/migrate.js";
import { writeProgress } from "./db/progress-writer.js";
import { FinishedTaskDeleter } from "./db/finished-task-deleter.js";
import { OpenAttemptRepairer } from "./db/open-attempt-repairer.js";
import { TaskInserter } from "./db/task-inserter.js";
import { TaskRepository } from "./db/task-repository.js";
import { TransitionWriter } from "./db/transition-writer.js";
import { Canceller } from "./engine/canceller.js";
import { DeadLetters } from "./engine/dead-letters.js";
import { Dispatcher } from "./engine/dispatcher.js";
import { DurableTransitions } from "./engine/durable-transitions.js";
import { randomToken } from "./engine/ids.js";
import { LeaseReaper } from "./engine/lease-reaper.js";
import { Notifier, type CancelNotice } from "./engine/notifier.js";
import { ProgressBuffer } from "./engine/progress-buffer.js";
import { Recovery } from "./engine/recovery.js";
import { ResultRecorder } from "./engine/result-recorder.js";
import { Retention } from "./engine/retention.js";
import { Scheduler } from "./engine/scheduler.js";
import { ShutdownBudget, type ShutdownReport } from "./engine/shutdown-budget.js";
import { drainStreams } from "./engine/stream-drain.js";
import { ServerRegistry } from "./engine/server-registry.js";
import { Submitter } from "./engine/submitter.js";
import type { Logger } from "./observability/logger.js";
import { createServerMetrics } from "./observability/metrics.js";
import { recordDelivered, recordLeaseEnds, recordSubmitted } from "./observability/task-metrics.js";
import { ensureDispatchLayout } from "./redis/layout.js";
import type { LeaseEnd } from "./redis/queue-store.js";
import { QueueStore } from "./redis/queue-store.js";
import { withErrorMapping } from "./services/connect-errors.js";
import { decodeConnectRequest } from "./services/connect-request-decoder.js";
import { createDeadLetterService } from "./services/dead-letter-service.js";
import { decodeSubmitTaskRequest, decodeSubmitTasksRequest } from "./services/submit-request-decoder.js";
import { createTaskService } from "./services/task-service.js";
import { createWorkerService } from "./services/worker-service.js";
import type { ConnectionLimits } from "./transport/connection-limits.js";
import { startGrpcServer, type GrpcServerHandle } from "./transport/grpc-server.js";
import type { ConnectionEvents } from "./transport/guarded-listener.js";
import { healthRegistration } from "./transport/health.js";
import { HealthStatus, ServingStatus } from "./transport/health-status.js";
import { startHttpGateway, type HttpGatewayHandle } from "./transport/http-gateway.js";
import type { CheckState } from "./transport/http-probes.js";
import { registerService } from "./transport/service-registration.js";
import { useMarkedUtf8InProtobuf } from "./transport/marked-utf8.js";

/** A server not heard from for this long counts as dead (its unwritten outcomes are recovered). */
const SERVER_LIVENESS_TTL_MS = 6_000;

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
  const serverId = `${hostname()}/${process.pid}/${randomToken(4)}`;
  const database = openDatabase({ url: options.databaseUrl, poolSize: options.databasePoolSize, logger });
  await migrate(database.pool, logger);

  const redisOptions = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false };
  const redis = new Redis(options.redisUrl, redisOptions);
  const subscriber = new Redis(options.redisUrl, { ...redisOptions, maxRetriesPerRequest: null });
  for (const [name, conn] of [["redis", redis], ["redis-subscriber", subscriber]] as const) {
    conn.on("error", (error: Error) => logger.warn({ err: error, connection: name }, "redis connection error"));
  }
  await redis.ping();

  const store = new QueueStore({ redis, prefix: options.redisPrefix, serverId });
  const repository = new TaskRepository(database.db);
  const writer = new TransitionWriter({ pool: database.pool, windowMs: options.outcomeCommitWindowMs, maxBatch: options.commitMaxBatch });
  const transitions = new DurableTransitions({ writer, logger });
  const inserter = new TaskInserter({
    pool: database.pool,
    windowMs: options.commitWindowMs,
    maxBatch: options.commitMaxBatch,
    idempotencyRetentionMs: options.idempotencyRetentionMs,
  });

  let draining = false;
  let grpc: GrpcServerHandle | undefined;
  let http: HttpGatewayHandle | undefined;
  // Late-bound: these components and the notifier refer to each other.
  const wakeQueues = (queues: string[], announce: boolean) => {
    for (const q of queues) dispatcher.wake(q);
    if (announce) notifier.ready(queues);
  };
  // Bytes of responses waiting in the worker streams' buffers, kept by the streams.
  const streamBuffers = { bytes: 0 };
  const metrics = createServerMetrics({
    connectedWorkers: () => dispatcher.connected.size,
    waitingCredits: () => dispatcher.waitingCredits,
    maxQueueLabels: options.metricsMaxQueues,
    queueLabelTtlMs: options.metricsQueueTtlMs,
    liveQueues: () => servedQueues(dispatcher),
    openConnections: () => ({ grpc: grpc?.openConnections ?? 0, http: http?.openConnections ?? 0 }),
    workerStreamBufferedBytes: () => streamBuffers.bytes,
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
  const onLeaseEnds = (ends: LeaseEnd[]) => {
    recordLeaseEnds(metrics, ends);
    const requeued = [...new Set(ends.filter((e) => e.state === "QUEUED").map((e) => e.queue))];
    wakeQueues(requeued, true);
    const dues = ends.filter((e) => e.state === "FAILED").map((e) => e.dueMs);
    if (dues.length > 0) {
      const due = Math.min(...dues);
      scheduler.notifyDue(due);
      notifier.due(due);
    }
    dispatcher.forget(ends.map((e) => e.id));
    // A lease that timed out or expired may still be running on a live worker: tell it to stop.
    for (const e of ends) {
      if ((e.how === "timeout" || e.how === "expired") && e.sessionId) {
        const reason = e.how === "timeout" ? "attempt timed out" : "lease expired";
        const notice = { sessionId: e.sessionId, taskId: e.id, leaseToken: e.leaseToken, reason };
        deliverCancel(notice);
        notifier.cancel(notice);
      }
    }
  };
  const deliverCancel = (notice: CancelNotice) => {
    dispatcher.connected.get(notice.sessionId)?.cancel(notice.taskId, notice.leaseToken, notice.reason);
  };

  const reaper = new LeaseReaper({ store, transitions, logger, intervalMs: options.reaperIntervalMs, onLeaseEnds });
  const dispatcher = new Dispatcher({
    store,
    transitions,
    logger,
    leaseDurationMs: options.leaseDurationMs,
    pollMs: options.dispatchPollMs,
    releaseSession: (sessionId, cause) => void reaper.releaseSession(sessionId, cause).catch(() => undefined),
    onDelivered: (queue, tasks) => recordDelivered(metrics, queue, tasks, Date.now()),
  });
  const scheduler = new Scheduler({
    store,
    transitions,
    logger,
    backstopMs: 1_000,
    onReady: (queues) => wakeQueues(queues, true),
  });
  const notifier = new Notifier({
    publisher: redis,
    subscriber,
    prefix: options.redisPrefix,
    serverId,
    logger,
    onReady: (queue) => dispatcher.wake(queue),
    onDue: (dueMs) => scheduler.notifyDue(dueMs),
    onCancel: deliverCancel,
  });
  const recorder = new ResultRecorder({
    store,
    transitions,
    onLeaseEnds,
    onFenced: (ends) => dispatcher.leasesEnded(ends),
    onStale: (n) => metrics.staleResults.inc(n),
  });
  const progress = new ProgressBuffer({
    write: (updates) => writeProgress(database.pool, updates),
    logger,
    onReport: () => metrics.progressReports.inc(),
    onWritten: (n) => metrics.progressWrites.inc(n),
    onDropped: (n) => metrics.progressDropped.inc(n),
  });
  const maxMessageBytes = maxReceivedMessageBytes(options.maxPayloadBytes);
  const recovery = new Recovery({
    repository,
    attempts: new OpenAttemptRepairer(database.db),
    store,
    redis,
    transitions,
    logger,
    serverId,
    intervalMs: options.recoveryIntervalMs,
    onReady: (queues) => wakeQueues(queues, true),
    onDue: (dueMs) => scheduler.notifyDue(dueMs),
  });
  const retention = new Retention({
    deleter: new FinishedTaskDeleter(database.db),
    redis,
    prefix: options.redisPrefix,
    serverId,
    logger,
    finishedRetentionMs: options.finishedTaskRetentionMs,
    deadRetentionMs: options.deadTaskRetentionMs,
    intervalMs: options.retentionIntervalMs,
    onDeleted: (n) => metrics.retentionDeleted.inc(n),
  });
  const submitter = new Submitter({
    inserter,
    store,
    logger,
    wake: (queues) => wakeQueues(queues, false),
    announce: (queues) => notifier.ready(queues),
    onAccepted: (tasks) => recordSubmitted(metrics, tasks),
    onDue: (dueMs) => {
      scheduler.notifyDue(dueMs);
      notifier.due(dueMs);
    },
    onEnqueueFailed: () => recovery.request(),
  });
  const canceller = new Canceller({
    repository,
    store,
    pushCancel: (notice) => {
      deliverCancel(notice);
      notifier.cancel(notice);
    },
  });

  const deadLetters = new DeadLetters({
    repository,
    store,
    logger,
    onReady: (queues) => wakeQueues(queues, true),
    onEnqueueFailed: () => recovery.requestFull(),
  });

  const health = new HealthStatus({
    initial: {
      "": ServingStatus.SERVING,
      [TaskService.typeName]: ServingStatus.SERVING,
      [WorkerService.typeName]: ServingStatus.SERVING,
      [DeadLetterService.typeName]: ServingStatus.SERVING,
    },
  });
  const registrations = [
    registerService(
      TaskService,
      withErrorMapping(
        createTaskService({
          submitter,
          repository,
          canceller,
          policy: {
            maxPayloadBytes: options.maxPayloadBytes,
            defaultMaxAttempts: options.defaultMaxAttempts,
            defaultInitialBackoffMs: options.defaultInitialBackoffMs,
            defaultMaxBackoffMs: options.defaultMaxBackoffMs,
            defaultBackoffMultiplier: options.defaultBackoffMultiplier,
            queueRetryDefaults: options.queueRetryDefaults,
          },
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
        }),
        logger,
      ),
      { connect: decodeConnectRequest },
    ),
    registerService(DeadLetterService, withErrorMapping(createDeadLetterService({ repository, deadLetters }), logger)),
    healthRegistration(health),
  ];

  const layout = await ensureDispatchLayout(redis, options.redisPrefix);
  if (layout === "rebuilt") {
    logger.warn({ prefix: options.redisPrefix }, "dispatch state in Redis had another layout: emptied, recovery rebuilds it from Postgres");
  }
  await notifier.start();
  const registry = new ServerRegistry({
    redis,
    prefix: options.redisPrefix,
    serverId,
    logger,
    ttlMs: SERVER_LIVENESS_TTL_MS,
    onServersGone: () => recovery.requestFull(),
  });
  await registry.start();
  // A Redis that comes back may have lost its data: check the epoch marker soon after.
  redis.on("ready", () => recovery.request());
  dispatcher.start();
  reaper.start();
  scheduler.start();
  recovery.start();
  retention.start();
  progress.start();

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
    });
    http = await startHttpGateway({
      host: options.host,
      port: options.httpPort,
      registrations,
      logger,
      maxReceiveMessageBytes: maxMessageBytes,
      connections,
      connectionEvents,
      extraRoutes: (req, res) => {
        if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
        metrics.render().then(
          (text) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(text);
          },
          (error: unknown) => {
            logger.error({ err: error }, "rendering metrics failed");
            res.writeHead(500);
            res.end();
          },
        );
        return true;
      },
      ready: async () => {
        const checks: Record<string, CheckState> = {};
        const errors: Record<string, unknown> = {};
        const [pg, rd] = await Promise.allSettled([repository.ping(), redis.ping()]);
        checks.postgres = pg.status === "fulfilled" ? "ok" : "unavailable";
        checks.redis = rd.status === "fulfilled" ? "ok" : "unavailable";
        if (pg.status === "rejected") errors.postgres = pg.reason;
        if (rd.status === "rejected") errors.redis = rd.reason;
        if (draining) checks.server = "draining";
        return { ok: !draining && pg.status === "fulfilled" && rd.status === "fulfilled", checks, errors };
      },
    });
  } catch (error) {
    await grpc?.shutdown(0);
    throw error;
  }
  logger.info({ serverId, grpcPort: grpc.port, httpPort: http.port }, "taskqueue server listening");

  let stopping: Promise<ShutdownReport> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      // Every step is bounded: the whole shutdown ends by budget.exitDeadline.
      const budget = new ShutdownBudget({ drainTimeoutMs: options.drainTimeoutMs, logger });
      draining = true;
      health.setAll(ServingStatus.NOT_SERVING);
      await budget.within("stopping dispatch", budget.drainDeadline, dispatcher.stop());
      await drainStreams({ dispatcher, budget, logger, reason: "server shutting down" });
      // Results fenced before their streams ended are committed even if their acks are lost.
      await budget.within("recording results", budget.writeDeadline, recorder.idle());
      scheduler.stop();
      reaper.stop();
      recovery.stop();
      await budget.within("stopping retention", budget.writeDeadline, retention.stop());
      // Unary calls still running finish meanwhile (forced at the write deadline); worker
      // streams have ended with their status already.
      const closeGraceMs = Math.max(0, budget.writeDeadline - Date.now());
      const serversClosed = Promise.allSettled([grpc!.shutdown(closeGraceMs), http!.close(closeGraceMs)]);
      // Every lease end, result and mark handed to the writer so far is committed (or, past the
      // deadline, left to recovery: the registry then tells the other servers at once).
      await budget.within("flushing progress", budget.writeDeadline, progress.stop(Math.max(0, budget.writeDeadline - Date.now())));
      await budget.within("committing transitions", budget.writeDeadline, transitions.settled());
      transitions.stop();
      await budget.within("closing servers", budget.exitDeadline, serversClosed);
      await budget.within("stopping notifier", budget.exitDeadline, notifier.stop());
      await budget.within("leaving the server registry", budget.exitDeadline, registry.stop({ clean: budget.unfinished.length === 0 }));
      await budget.within("closing redis", budget.exitDeadline, Promise.all([closeRedis(subscriber), closeRedis(redis)]));
      await budget.within("closing postgres", budget.exitDeadline, database.close());
      const report = budget.report();
      if (report.complete) logger.info({ serverId, tookMs: report.tookMs }, "taskqueue server stopped");
      else logger.warn({ serverId, ...report }, "taskqueue server stopped; what was cut short is left to recovery");
      return report;
    })());

  return {
    serverId,
    grpcPort: grpc.port,
    httpPort: http.port,
    stop,
    recover: () => recovery.tick({ full: true }),
    reapExpired: () => reaper.reapExpired(),
    applyRetention: () => retention.sweep({ full: true }),
  };
}

/** Closes a Redis connection: QUIT when it is up (pending replies arrive first), else at once. */
async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === "ready") await connection.quit().catch(() => undefined);
  connection.disconnect();
}

/** The queues some connected worker serves. */
function* servedQueues(dispatcher: Dispatcher): Iterable<string> {
  for (const session of dispatcher.connected.values()) yield* session.queues;
}
