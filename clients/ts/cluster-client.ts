import { createClient, type Client } from "@connectrpc/connect";
import {
  ClusterService,
  type GetSystemHealthResponse,
  type ServerInfo,
  type WorkerSession,
} from "../../gen/taskqueue/v1/cluster_service_pb.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";

/** The cluster API (`taskqueue.v1.ClusterService`); calls fail with the server's `ConnectError`. */
export interface ClusterClient {
  /** Connected worker sessions across all servers, of one queue when `queue` is given. */
  listWorkers(options?: RequestOptions & { queue?: string }): Promise<WorkerSession[]>;
  /** The live servers. */
  listServers(options?: RequestOptions): Promise<ServerInfo[]>;
  /** Checks Postgres and Redis now and gives the answering server's verdict. */
  getSystemHealth(options?: RequestOptions): Promise<GetSystemHealthResponse>;
  /** The generated Connect client, for requests this API does not cover. */
  readonly service: Client<typeof ClusterService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/** Creates a cluster client; options as for `createTaskClient`. */
export function createClusterClient(options: TaskClientOptions = {}): ClusterClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(ClusterService, compiled.transport);
  const call = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  return {
    service,
    async listWorkers(request) {
      return (await service.listWorkers({ queue: request?.queue ?? "" }, call(request))).workers;
    },
    async listServers(request) {
      return (await service.listServers({}, call(request))).servers;
    },
    async getSystemHealth(request) {
      return service.getSystemHealth({}, call(request));
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
}
