import { randomBytes } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { inject } from "vitest";
import { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { describeUnfinished } from "./diagnostics.js";
import { ServerProcess, WorkerProcess, type WorkerProcessOptions } from "./processes.js";
import { waitUntilAllTerminal, waitUntilAttemptsSettled } from "./task-db.js";
import { createTestDatabase } from "./test-server.js";

/** Options for {@link FaultStack.create}. */
export interface FaultStackOptions {
  /** Postgres to use as is; default a fresh database on the run's Postgres. */
  databaseUrl?: string;
  /** Redis to use; default the run's Redis. */
  redisUrl?: string;
  /** Environment of every server process (timings), e.g. `{ LEASE_DURATION_MS: "1500" }`. */
  serverEnv?: Readonly<Record<string, string>>;
  /** Server entry point (e.g. an instrumented one while investigating). Default "server/main.ts". */
  serverScript?: string;
}

/**
 * The real processes of one fault test file: server and worker processes on their own
 * Postgres database and Redis key prefix, a Postgres pool for assertions and TaskService
 * clients. `close()` kills every process it started.
 */
export class FaultStack {
  /** Server processes started, in order. */
  readonly servers: ServerProcess[] = [];
  /** Worker processes started, in order. */
  readonly workers: WorkerProcess[] = [];
  readonly #clients = new Map<ServerProcess, Client<typeof TaskService>>();
  #serversStarted = 0;
  #workersStarted = 0;

  private constructor(
    readonly databaseUrl: string,
    readonly redisUrl: string,
    readonly redisPrefix: string,
    readonly pool: pg.Pool,
    readonly serverEnv: Readonly<Record<string, string>>,
    readonly serverScript: string | undefined,
  ) {}

  /** Prepares the database and prefix; starts nothing yet. */
  static async create(options: FaultStackOptions = {}): Promise<FaultStack> {
    const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
    const redisUrl = options.redisUrl ?? inject("redisUrl");
    const redisPrefix = `tq-fault-${randomBytes(4).toString("hex")}:`;
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    // A restarted Postgres breaks idle connections: the pool reconnects on the next query.
    pool.on("error", () => undefined);
    // A run against a Redis Cluster (TEST_REDIS_CLUSTER=1) points every server at it.
    const clusterNodes = options.redisUrl === undefined ? inject("redisClusterNodes") : "";
    const serverEnv = { ...(clusterNodes === "" ? {} : { REDIS_CLUSTER_NODES: clusterNodes }), ...options.serverEnv };
    return new FaultStack(databaseUrl, redisUrl, redisPrefix, pool, serverEnv, options.serverScript);
  }

  /** The Redis Cluster seeds the servers use (`REDIS_CLUSTER_NODES`), else "". */
  get redisClusterNodes(): string {
    return this.serverEnv.REDIS_CLUSTER_NODES ?? "";
  }

  /** Starts a server process (waits until it listens). */
  async startServer(env: Readonly<Record<string, string>> = {}, name = `server-${++this.#serversStarted}`): Promise<ServerProcess> {
    const server = await ServerProcess.start({
      name,
      databaseUrl: this.databaseUrl,
      redisUrl: this.redisUrl,
      redisPrefix: this.redisPrefix,
      env: { ...this.serverEnv, ...env },
      script: this.serverScript,
    });
    this.servers.push(server);
    return server;
  }

  /** Starts an example worker process on `server` (waits for its first session). */
  async startWorker(server: ServerProcess, options: Omit<WorkerProcessOptions, "server">): Promise<WorkerProcess> {
    const worker = await WorkerProcess.start({
      name: `worker-${++this.#workersStarted}`,
      ...options,
      server: server.grpcAddress,
    });
    this.workers.push(worker);
    return worker;
  }

  /** A TaskService client (gRPC) to `server`; it reconnects by itself after a restart. */
  client(server: ServerProcess): Client<typeof TaskService> {
    let client = this.#clients.get(server);
    if (!client) {
      client = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${server.grpcAddress}` }));
      this.#clients.set(server, client);
    }
    return client;
  }

  /** The worker (any of its runs) whose default worker id is `workerId`, if one of ours. */
  workerOf(workerId: string | null | undefined): WorkerProcess | undefined {
    return this.workers.find((w) => w.owns(workerId));
  }

  /**
   * Waits until `expected` tasks of `queues` exist and all are terminal, then (up to 10 s)
   * until their attempt rows all record an outcome; returns the state counts. On timeout the error describes the unfinished tasks (Postgres and Redis) and
   * the servers' last warnings.
   */
  async waitAllDone(queues: readonly string[], expected: number, timeoutMs: number): Promise<Record<string, number>> {
    try {
      const counts = await waitUntilAllTerminal(this.pool, queues, { expected, timeoutMs });
      await waitUntilAttemptsSettled(this.pool, queues, 10_000);
      return counts;
    } catch (error) {
      const stuck = await describeUnfinished(this.pool, queues, this).catch((e: unknown) => String(e));
      const warnings = [...this.servers, ...this.workers].flatMap((p) =>
        p.process
          .logs()
          .filter((e) => e.level >= 40)
          .slice(-8)
          .map((e) => `${p.process.name}: ${String(e.fields.time ?? "")} ${e.msg} ${errorMessage(e.fields.err)}`),
      );
      throw new Error(`${(error as Error).message}\n${stuck}\nwarnings:\n${warnings.join("\n")}`);
    }
  }

  /** Kills every process started here and closes the pool. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.workers, ...this.servers].map((p) => p.stop()));
    await this.pool.end().catch(() => undefined);
  }
}

function errorMessage(err: unknown): string {
  return typeof err === "object" && err !== null && "message" in err ? String((err as { message: unknown }).message) : "";
}
