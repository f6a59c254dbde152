import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, afterEach } from "vitest";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { createLogger } from "../../server/observability/logger.js";
import { createWorker, type TaskHandlers, type Worker } from "../../worker/index.js";
import { startTestServer, type TestServer } from "./test-server.js";

/** In-process test servers and SDK workers of one test file. */
export interface ServerPool {
  /** Starts a server; with `shared`, on the same Postgres and Redis prefix (a second server of one system). */
  server(shared?: TestServer): Promise<TestServer>;
  /** A QueueService client of the server. */
  queuesOf(ts: TestServer): Client<typeof QueueService>;
  /** Starts an SDK worker on the server for one queue. */
  startWorker(ts: TestServer, queue: string, handlers: TaskHandlers, concurrency?: number): Promise<Worker>;
}

/**
 * Servers and workers a test file starts, stopped for it: the workers after each test, the
 * servers after all of them. Call once, at the top of the file.
 */
export function useServerPool(): ServerPool {
  const servers: TestServer[] = [];
  const workers: Worker[] = [];
  const logger = createLogger({ level: "silent" });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ timeoutMs: 2_000 }).catch(() => undefined)));
  });
  afterAll(async () => {
    for (const s of servers.splice(0).reverse()) await s.stop().catch(() => undefined);
  });
  return {
    async server(shared) {
      const s = await startTestServer({}, shared ? { databaseUrl: shared.databaseUrl, redisPrefix: shared.redisPrefix } : undefined);
      servers.push(s);
      return s;
    },
    queuesOf: (ts) => createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` })),
    async startWorker(ts, queue, handlers, concurrency = 4) {
      const worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency, handlers, logger });
      workers.push(worker);
      await worker.start();
      return worker;
    },
  };
}
