import { create } from "@bufbuild/protobuf";
import {
  ConnectRequestSchema,
  type ConnectRequest,
  type TaskResult,
} from "../gen/taskqueue/v1/worker_service_pb.js";
import { SDK_NAME, type CompiledWorkerOptions } from "./options.js";

/** The first message of a stream: who the worker is and what it serves. */
export function helloRequest(options: CompiledWorkerOptions): ConnectRequest {
  return create(ConnectRequestSchema, {
    message: {
      case: "hello",
      value: {
        workerId: options.workerId,
        queues: options.queues,
        taskTypes: Object.keys(options.handlers),
        capacity: options.concurrency,
        labels: options.labels,
        sdk: SDK_NAME,
      },
    },
  });
}

/** Grants `credits` more free slots. */
export function creditRequest(credits: number): ConnectRequest {
  return create(ConnectRequestSchema, { message: { case: "credit", value: { credits } } });
}

/** A heartbeat listing the running tasks. */
export function heartbeatRequest(taskIds: string[]): ConnectRequest {
  return create(ConnectRequestSchema, { message: { case: "heartbeat", value: { taskIds } } });
}

/** A batch of results. */
export function resultsRequest(results: TaskResult[]): ConnectRequest {
  return create(ConnectRequestSchema, { message: { case: "results", value: { results } } });
}

/** A progress report of one running task. */
export function progressRequest(taskId: string, leaseToken: string, percent: number, message: string): ConnectRequest {
  return create(ConnectRequestSchema, {
    message: { case: "progress", value: { taskId, leaseToken, percent, message } },
  });
}

/** Announces that the worker is shutting down. */
export function drainingRequest(reason: string): ConnectRequest {
  return create(ConnectRequestSchema, { message: { case: "draining", value: { reason } } });
}
