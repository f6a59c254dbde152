import { create, toBinary } from "@bufbuild/protobuf";
import {
  CreditGrantSchema,
  HeartbeatSchema,
  ProgressReportSchema,
  WorkerDrainingSchema,
  WorkerHelloSchema,
} from "../gen/taskqueue/v1/worker_service_pb.js";
import { fieldNumbers } from "../wire/field-numbers.js";
import { ProtoWriter } from "../wire/proto-writer.js";
import { SDK_NAME, type CompiledWorkerOptions } from "./options.js";
import { frameService, type RequestCase, type RequestFrame } from "./wire/frame-service.js";
import { encodeTaskResults, type OutgoingResult } from "./wire/task-results.js";

const CREDITS = fieldNumbers(CreditGrantSchema).credits;
const HEARTBEAT_TASK_IDS = fieldNumbers(HeartbeatSchema).taskIds;

/** The first message of a stream: who the worker is and what it serves. */
export function helloRequest(options: CompiledWorkerOptions): RequestFrame {
  const hello = create(WorkerHelloSchema, {
    workerId: options.workerId,
    queues: options.queues,
    taskTypes: Object.keys(options.handlers),
    capacity: options.concurrency,
    labels: options.labels,
    sdk: SDK_NAME,
  });
  return frame("hello", toBinary(WorkerHelloSchema, hello));
}

/** Grants `credits` more free slots. */
export function creditRequest(credits: number): RequestFrame {
  return frame("credit", new ProtoWriter(8).int32Field(CREDITS, credits).finish());
}

/** A heartbeat listing the running tasks. */
export function heartbeatRequest(taskIds: readonly string[]): RequestFrame {
  const writer = new ProtoWriter(taskIds.length * 40 + 8);
  for (const id of taskIds) writer.stringField(HEARTBEAT_TASK_IDS, id);
  return frame("heartbeat", writer.finish());
}

/** A batch of results. */
export function resultsRequest(results: readonly OutgoingResult[]): RequestFrame {
  return frame("results", encodeTaskResults(results));
}

/** A batch of results already encoded as a `TaskResults` message. */
export function encodedResultsRequest(encoded: Uint8Array): RequestFrame {
  return frame("results", encoded);
}

/** A progress report of one running task. */
export function progressRequest(taskId: string, leaseToken: string, percent: number, message: string): RequestFrame {
  const report = create(ProgressReportSchema, { taskId, leaseToken, percent, message });
  return frame("progress", toBinary(ProgressReportSchema, report));
}

/** Announces that the worker is shutting down. */
export function drainingRequest(reason: string): RequestFrame {
  return frame("draining", toBinary(WorkerDrainingSchema, create(WorkerDrainingSchema, { reason })));
}

function frame(kind: RequestCase, value: Uint8Array): RequestFrame {
  return create(frameService.method.connect.input, { message: { case: kind, value } });
}
