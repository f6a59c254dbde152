import type { MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { WorkerService, type ConnectRequestSchema } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { AsyncQueue } from "./async-queue.js";
import { uniqueQueue } from "./test-server.js";

type ConnectRequestInit = MessageInitShape<typeof ConnectRequestSchema>;

/**
 * A worker stream over `transport` presenting `token`, saying hello for `queues`: `welcome`
 * resolves when the server welcomes it, `ended` with the error that ended it (undefined for
 * a clean end); `close` half-closes it, `abort` cancels it.
 */
export function openWorkerStream(transport: Transport, token: string, queues: string[]) {
  const requests = new AsyncQueue<ConnectRequestInit>();
  requests.push({ message: { case: "hello", value: { workerId: uniqueQueue("w"), queues, capacity: 1 } } });
  const abort = new AbortController();
  const responses = createClient(WorkerService, transport).connect(requests, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
  let welcomed!: () => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  const ended = (async () => {
    try {
      for await (const response of responses) if (response.message.case === "welcome") welcomed();
      return undefined;
    } catch (error) {
      return ConnectError.from(error);
    } finally {
      requests.close();
    }
  })();
  return { welcome, ended, close: () => requests.close(), abort: () => abort.abort() };
}
