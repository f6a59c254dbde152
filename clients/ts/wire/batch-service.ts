import type { Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { file_taskqueue_v1_task_service, type TaskView } from "../../../gen/taskqueue/v1/task_service_pb.js";
import { bytesFieldsService } from "../../../wire/bytes-fields-service.js";

/** A `SubmitTasksRequest` whose tasks are already encoded `SubmitTaskRequest` messages. */
export type EncodedSubmitTasksRequest = Message<"taskqueue.v1.SubmitTasksRequest"> & {
  /** Each an encoded `SubmitTaskRequest`. */
  tasks: Uint8Array[];
  /** How much of each task the results carry. */
  view: TaskView;
};

/** A `SubmitTasksResponse` whose results are still encoded `SubmitTasksResult` messages. */
export type EncodedSubmitTasksResponse = Message<"taskqueue.v1.SubmitTasksResponse"> & {
  /** Each an encoded `SubmitTasksResult`, in the order of the request's tasks. */
  results: Uint8Array[];
};

/** The `SubmitTasks` method of {@link batchService}. */
export type BatchService = GenService<{
  submitTasks: {
    methodKind: "unary";
    input: GenMessage<EncodedSubmitTasksRequest>;
    output: GenMessage<EncodedSubmitTasksResponse>;
  };
}>;

/**
 * `taskqueue.v1.TaskService` with `SubmitTasksRequest.tasks` and
 * `SubmitTasksResponse.results` declared as `repeated bytes`: the same service, methods and
 * wire format (a message field and a bytes field are both length-delimited), so an RPC
 * client passes each task and each result through as bytes, which the client encodes and
 * decodes by hand instead of through reflection. Binary formats only: in JSON, bytes are
 * base64 strings, not objects.
 */
export const batchService: BatchService = buildBatchService();

function buildBatchService(): BatchService {
  const service = bytesFieldsService(file_taskqueue_v1_task_service, "TaskService", {
    SubmitTasksRequest: ["tasks"],
    SubmitTasksResponse: ["results"],
  });
  return service as unknown as BatchService;
}
