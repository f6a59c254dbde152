import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Client as GrpcClient, credentials, type ClientDuplexStream, type StatusObject } from "@grpc/grpc-js";
import {
  ConnectRequestSchema,
  ConnectResponseSchema,
  type ConnectResponse,
} from "../../gen/taskqueue/v1/worker_service_pb.js";

type RequestInit = MessageInitShape<typeof ConnectRequestSchema>["message"];

/**
 * A `WorkerService.Connect` stream on a plain grpc-js client that writes request bytes as
 * given: to send what no SDK would (varints past 32 bits), or to cancel a stream the way
 * grpc clients do (a reset of the HTTP/2 stream, without half-closing it first).
 */
export class RawBytesStream {
  /** The final status, once the stream ends. */
  readonly status: Promise<StatusObject>;
  private readonly client: GrpcClient;
  private readonly call: ClientDuplexStream<Buffer, Buffer>;
  private readonly received: ConnectResponse[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(address: string) {
    this.client = new GrpcClient(address, credentials.createInsecure());
    const identity = (b: Buffer) => b;
    this.call = this.client.makeBidiStreamRequest("/taskqueue.v1.WorkerService/Connect", identity, identity);
    this.call.on("error", () => undefined);
    this.call.on("data", (bytes: Buffer) => {
      this.received.push(fromBinary(ConnectResponseSchema, bytes));
      for (const w of [...this.waiters]) w();
    });
    this.status = new Promise<StatusObject>((resolve) => this.call.once("status", resolve));
  }

  /** Writes raw request bytes. */
  write(bytes: Uint8Array): void {
    this.call.write(Buffer.from(bytes));
  }

  /** Writes one request message. */
  send(message: RequestInit): void {
    this.write(toBinary(ConnectRequestSchema, create(ConnectRequestSchema, { message })));
  }

  /** Resolves with the first response matching `match` (bounded by `timeoutMs`). */
  next(match: (m: ConnectResponse) => boolean, what: string, timeoutMs = 10_000): Promise<ConnectResponse> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(match);
        if (!found) return;
        done();
        resolve(found);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Half-closes the request side. */
  end(): void {
    this.call.end();
  }

  /** Cancels the call (an HTTP/2 stream reset). */
  cancel(): void {
    this.call.cancel();
  }

  /** Closes the client. */
  close(): void {
    this.client.close();
  }
}
