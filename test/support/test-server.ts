import { randomBytes } from "node:crypto";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { inject } from "vitest";
import { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { startServer, type RunningServer } from "../../server/app.js";
import { compileServerOptions, type ServerOptions } from "../../server/config.js";
import { createLogger } from "../../server/observability/logger.js";

/** A server started in-process for one test file, on its own database and Redis prefix. */
export interface TestServer {
  server: RunningServer;
  databaseUrl: string;
  redisUrl: string;
  /** The Redis Cluster seeds the server uses (a run with TEST_REDIS_CLUSTER=1), else "". */
  redisClusterNodes: string;
  redisPrefix: string;
  /** `localhost:PORT` of the gRPC server. */
  grpcAddress: string;
  /** `http://localhost:PORT` of the HTTP gateway. */
  httpBaseUrl: string;
  /** TaskService over gRPC (HTTP/2) to the grpc-js server. */
  grpc: Client<typeof TaskService>;
  /** TaskService over Connect JSON (HTTP/1.1) to the gateway. */
  connect: Client<typeof TaskService>;
  /** Direct Postgres access, for assertions. */
  pool: pg.Pool;
  stop(): Promise<void>;
}

/** Creates a fresh database on the run's Postgres and returns its URL. */
export async function createTestDatabase(): Promise<string> {
  const baseUrl = inject("databaseUrl");
  const name = `tq_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts a server on free ports against the run's Redis and Postgres, isolated by a fresh
 * database and key prefix. `overrides` tune timings for the test.
 */
export async function startTestServer(
  overrides: ServerOptions = {},
  shared?: { databaseUrl: string; redisPrefix: string },
): Promise<TestServer> {
  const databaseUrl = shared?.databaseUrl ?? (await createTestDatabase());
  const redisUrl = inject("redisUrl");
  const redisPrefix = shared?.redisPrefix ?? `tq-test-${randomBytes(4).toString("hex")}:`;
  const options = compileServerOptions({
    grpcPort: 0,
    httpPort: 0,
    host: "127.0.0.1",
    databaseUrl,
    redisUrl,
    // A run against a Redis Cluster (TEST_REDIS_CLUSTER=1), unless the test names its own Redis.
    redisClusterNodes: overrides.redisUrl === undefined ? inject("redisClusterNodes") : "",
    redisPrefix,
    databasePoolSize: 5,
    drainTimeoutMs: 2_000,
    ...overrides,
  });
  const logger = createLogger({ name: "test-server", level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const server = await startServer(options, logger);
  const grpcAddress = `127.0.0.1:${server.grpcPort}`;
  const httpBaseUrl = `http://127.0.0.1:${server.httpPort}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  return {
    server,
    databaseUrl,
    redisUrl,
    redisClusterNodes: options.redisClusterNodes,
    redisPrefix,
    grpcAddress,
    httpBaseUrl,
    grpc: createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcAddress}` })),
    connect: createClient(TaskService, createConnectTransport({ baseUrl: httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false })),
    pool,
    async stop() {
      await server.stop();
      await pool.end();
    },
  };
}

/** A queue name unique to one test. */
export function uniqueQueue(label = "q"): string {
  return `${label}-${randomBytes(4).toString("hex")}`;
}
