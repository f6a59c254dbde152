import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Client, credentials, type ClientDuplexStream, type StatusObject } from "@grpc/grpc-js";
import {
  type ConnectRequest,
  ConnectRequestSchema,
  type ConnectResponse,
  ConnectResponseSchema,
  type LeasedTask,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { waitFor } from "./wait-for.js";

type RequestInit = MessageInitShape<typeof ConnectRequestSchema>["message"];

/**
 * A `WorkerService.Connect` stream opened with grpc-js's own client (not Connect's), driven
 * by hand: it shows the status and trailers exactly as a grpc-js client stack receives them.
 */
export class GrpcJsWorkerStream {
  /** Every message received, in order. */
  readonly received: ConnectResponse[] = [];
  /** The call's final status (code, details, trailers), once it ended. */
  status: StatusObject | undefined;
  private readonly client: Client;
  private readonly call: ClientDuplexStream<ConnectRequest, ConnectResponse>;

  /** Opens the stream to `address` (host:port). */
  constructor(address: string) {
    this.client = new Client(address, credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      "/taskqueue.v1.WorkerService/Connect",
      (message: ConnectRequest) => Buffer.from(toBinary(ConnectRequestSchema, message)),
      (bytes: Buffer) => fromBinary(ConnectResponseSchema, bytes),
    );
    this.call.on("data", (message: ConnectResponse) => this.received.push(message));
    this.call.on("status", (status: StatusObject) => (this.status = status));
    // The status event carries the outcome; the error event repeats it.
    this.call.on("error", () => undefined);
  }

  /** Sends one message. */
  send(message: RequestInit): void {
    this.call.write(create(ConnectRequestSchema, { message }));
  }

  /** Sends hello and waits for the welcome; returns it. */
  async hello(queues: string[], workerId = "grpc-js-worker"): Promise<ConnectResponse> {
    this.send({ case: "hello", value: { workerId, queues, capacity: 10 } });
    return this.next((m) => m.message.case === "welcome", "welcome");
  }

  /** Resolves with the first received message matching `match`. */
  next(match: (m: ConnectResponse) => boolean, what: string, timeoutMs = 10_000): Promise<ConnectResponse> {
    return waitFor(() => this.received.find(match), { timeoutMs, message: `${what} on the grpc-js stream` });
  }

  /** Resolves with the tasks received so far once there are at least `count`. */
  tasks(count: number, timeoutMs = 10_000): Promise<LeasedTask[]> {
    return waitFor(
      () => {
        const all = this.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks : []));
        return all.length >= count ? all : undefined;
      },
      { timeoutMs, message: `${count} task(s) on the grpc-js stream` },
    );
  }

  /** Resolves with the final status once the stream has ended. */
  end(timeoutMs = 10_000): Promise<StatusObject> {
    return waitFor(() => this.status, { timeoutMs, message: "the grpc-js stream to end" });
  }

  /** Cancels the call if still open and closes the channel. */
  close(): void {
    if (this.status === undefined) this.call.cancel();
    this.client.close();
  }
}
