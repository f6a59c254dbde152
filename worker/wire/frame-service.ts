import type { Message } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import { file_taskqueue_v1_worker_service } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { bytesFieldsService } from "../../wire/bytes-fields-service.js";

/** Case names of the `ConnectRequest.message` oneof. */
export type RequestCase = "hello" | "credit" | "heartbeat" | "results" | "progress" | "draining";
/** Case names of the `ConnectResponse.message` oneof. */
export type ResponseCase = "welcome" | "assignment" | "acks" | "cancel" | "drain" | "heartbeatAck";

/**
 * A `ConnectRequest` as the worker writes it: the oneof member holds the already encoded
 * bytes of its message (a message field and a bytes field share one wire format).
 */
export type RequestFrame = Message<"taskqueue.v1.ConnectRequest"> & {
  message: { case: RequestCase; value: Uint8Array } | { case: undefined; value?: undefined };
};

/** A `ConnectResponse` as the worker reads it: the oneof member's bytes, not yet decoded. */
export type ResponseFrame = Message<"taskqueue.v1.ConnectResponse"> & {
  message: { case: ResponseCase; value: Uint8Array } | { case: undefined; value?: undefined };
};

/** `WorkerService` with the stream messages seen as frames. */
export type FrameService = GenService<{
  connect: {
    methodKind: "bidi_streaming";
    input: GenMessage<RequestFrame>;
    output: GenMessage<ResponseFrame>;
  };
}>;

/**
 * `taskqueue.v1.WorkerService` as the worker SDK speaks it: the same service, method and
 * wire format, except that the members of the `ConnectRequest` and `ConnectResponse`
 * oneofs are declared as bytes. An RPC client then passes each member's encoded message
 * through untouched, and the SDK encodes and decodes the hot ones (results, assignments,
 * acks) by hand instead of through reflection.
 */
export const frameService: FrameService = buildFrameService();

function buildFrameService(): FrameService {
  const service = bytesFieldsService(file_taskqueue_v1_worker_service, "WorkerService", {
    ConnectRequest: "all",
    ConnectResponse: "all",
  });
  return service as unknown as FrameService;
}
