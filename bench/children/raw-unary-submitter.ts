import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { SubmitTaskRequestSchema, SubmitTaskResponseSchema, TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";

/** A gRPC call that ended with a status other than OK. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`gRPC status ${code}: ${message}`);
    this.name = "GrpcCallError";
  }
}

const HEADER_BYTES = 5;

/**
 * A load generator's unary `SubmitTask` caller: plain HTTP/2 requests on one connection, each
 * carrying the same request, encoded once (a no-op task for one queue). It costs a fraction of
 * the CPU of a full client (no per-call encoding, interceptors or timers), so that a latency
 * run measures the server rather than the load generator. The reply is decoded with
 * protobuf-es for the task id.
 */
export class RawUnarySubmitter {
  private readonly session: http2.ClientHttp2Session;
  private readonly frame: Buffer;
  private readonly headers: http2.OutgoingHttpHeaders;

  constructor(address: string, queue: string, type: string) {
    this.session = http2.connect(`http://${address}`);
    // An idle connection must not keep the process alive, nor a session error crash it.
    this.session.on("error", () => undefined);
    const message = toBinary(SubmitTaskRequestSchema, create(SubmitTaskRequestSchema, { queue, type }));
    this.frame = Buffer.alloc(HEADER_BYTES + message.length);
    this.frame.writeUInt32BE(message.length, 1);
    this.frame.set(message, HEADER_BYTES);
    this.headers = {
      ":method": "POST",
      ":path": `/${TaskService.typeName}/${TaskService.method.submitTask.name}`,
      "content-type": "application/grpc+proto",
      te: "trailers",
    };
  }

  /** Resolves once the connection is open (so that the first call does not pay for it). */
  connected(): Promise<void> {
    if (this.session.connecting === false) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.session.once("connect", () => resolve());
      this.session.once("error", reject);
    });
  }

  /** Submits the task; resolves with its id once the server has answered. */
  submitTask(): Promise<string> {
    return new Promise((resolve, reject) => {
      const stream = this.session.request(this.headers);
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let statusMessage = "";
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] === undefined) return;
        status = String(headers["grpc-status"]);
        statusMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
      };
      stream.on("response", readStatus);
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", reject);
      stream.on("close", () => {
        if (status !== "0") {
          reject(new GrpcCallError(Number(status ?? 2), status === undefined ? "no grpc-status" : statusMessage));
          return;
        }
        const body = Buffer.concat(chunks);
        const length = body.readUInt32BE(1);
        const response = fromBinary(SubmitTaskResponseSchema, body.subarray(HEADER_BYTES, HEADER_BYTES + length));
        resolve(response.task?.id ?? "");
      });
      stream.end(this.frame);
    });
  }

  /** Closes the connection. */
  close(): void {
    this.session.close();
  }
}
