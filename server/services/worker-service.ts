import type { ServiceImpl } from "@connectrpc/connect";
import { WorkerService } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { rpcLogFields } from "../observability/rpc-trace.js";
import { abandonCallKey } from "../transport/call-abandon.js";
import { WorkerStream, type WorkerStreamDeps } from "./worker-stream.js";

/** The worker API: one long-lived bidirectional stream per worker (see WorkerStream). */
export function createWorkerService(deps: WorkerStreamDeps): ServiceImpl<typeof WorkerService> {
  return {
    async *connect(requests, context) {
      yield* new WorkerStream(deps, context.signal, context.values.get(abandonCallKey), rpcLogFields(context.values)).run(requests);
    },
  };
}
