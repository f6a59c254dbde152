import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ClusterService } from "../../../gen/taskqueue/v1/cluster_service_pb.js";
import { DeadLetterService } from "../../../gen/taskqueue/v1/dead_letter_service_pb.js";
import { QueueService } from "../../../gen/taskqueue/v1/queue_service_pb.js";
import { ScheduleService } from "../../../gen/taskqueue/v1/schedule_service_pb.js";
import { TaskService } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { storedToken } from "./token.js";

/** The services the dashboard calls, as typed Connect clients. */
export interface Api {
  readonly tasks: Client<typeof TaskService>;
  readonly queues: Client<typeof QueueService>;
  readonly deadLetters: Client<typeof DeadLetterService>;
  readonly cluster: Client<typeof ClusterService>;
  readonly schedules: Client<typeof ScheduleService>;
}

/**
 * Clients of the gateway at `baseUrl` (default: the page's own origin, which serves the
 * dashboard) over the Connect protocol with binary protobuf: the smallest messages and the
 * cheapest for the server to decode. Every call carries the API token kept for this tab (see
 * token.ts) as `authorization: Bearer <token>`.
 */
export function createApi(baseUrl: string = window.location.origin): Api {
  const withToken: Interceptor = (next) => (req) => {
    const token = storedToken();
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl, useBinaryFormat: true, interceptors: [withToken] });
  return {
    tasks: createClient(TaskService, transport),
    queues: createClient(QueueService, transport),
    deadLetters: createClient(DeadLetterService, transport),
    cluster: createClient(ClusterService, transport),
    schedules: createClient(ScheduleService, transport),
  };
}
