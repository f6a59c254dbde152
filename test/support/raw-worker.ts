import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  type ConnectRequest,
  ConnectRequestSchema,
  type ConnectResponse,
  type LeasedTask,
  WorkerService,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { AsyncQueue } from "./async-queue.js";

type RequestInit = MessageInitShape<typeof ConnectRequestSchema>["message"];

/** Options of a {@link RawWorker}. */
export interface RawWorkerOptions {
  /**
   * Largest message the stream accepts, as gRPC clients limit it (4 MiB by default in
   * grpc-go, grpcio and grpc-js); unlimited when unset. A larger message fails the stream.
   */
  readMaxBytes?: number;
}

/**
 * A worker stream driven by hand, message by message, to test the protocol itself:
 * what the server sends, in which order, and how it treats a misbehaving worker.
 */
export class RawWorker {
  readonly received: ConnectResponse[] = [];
  /** Set when the stream ended: null for OK, else the error. */
  ended: ConnectError | null | undefined = undefined;
  private readonly outbox = new AsyncQueue<ConnectRequest>();
  private readonly listeners = new Set<() => void>();
  private readonly call = new AbortController();

  constructor(address: string, options: RawWorkerOptions = {}) {
    const transport = createGrpcTransport({ baseUrl: `http://${address}`, readMaxBytes: options.readMaxBytes });
    const client = createClient(WorkerService, transport);
    void (async () => {
      try {
        for await (const message of client.connect(this.outbox, { signal: this.call.signal })) {
          this.received.push(message);
          this.notify();
        }
        this.ended = null;
      } catch (error) {
        this.ended = ConnectError.from(error);
      }
      this.notify();
    })();
  }

  /** Sends one message. */
  send(message: RequestInit): void {
    this.outbox.push(create(ConnectRequestSchema, { message }));
  }

  /** Sends hello and waits for the welcome. */
  async hello(queues: string[], workerId = "raw-worker", capacity = 10): Promise<void> {
    this.send({ case: "hello", value: { workerId, queues, capacity } });
    await this.next((m) => m.message.case === "welcome", "welcome");
  }

  /**
   * Sends `message` followed by a heartbeat, and waits for the heartbeat's answer: the server
   * handles a stream's requests in order, so `message` has been handled by then.
   */
  async sendAndSync(message: RequestInit): Promise<void> {
    const from = this.received.length;
    this.send(message);
    this.send({ case: "heartbeat", value: {} });
    await this.next((m) => m.message.case === "heartbeatAck", "heartbeat ack", 10_000, from);
  }

  /** Half-closes the request side (a clean goodbye). */
  close(): void {
    this.outbox.close();
  }

  /** Cancels the stream (as a worker that gives up on it does; the server sees CANCELLED). */
  cancel(): void {
    this.call.abort();
  }

  /** Resolves with the first received message (from the start) matching `match`. */
  next(match: (m: ConnectResponse) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<ConnectResponse> {
    return this.until(() => this.received.slice(from).find(match), what, timeoutMs);
  }

  /** Resolves with the leased tasks received so far once there are at least `count`. */
  async tasks(count: number, timeoutMs = 10_000): Promise<LeasedTask[]> {
    return this.until(
      () => {
        const all = this.received.flatMap((m) => (m.message.case === "assignment" ? m.message.value.tasks : []));
        return all.length >= count ? all : undefined;
      },
      `${count} leased task(s)`,
      timeoutMs,
    );
  }

  /** Resolves when the stream has ended (with its error, or null for OK). */
  async end(timeoutMs = 10_000): Promise<ConnectError | null> {
    await this.until(() => (this.ended !== undefined ? true : undefined), "the stream to end", timeoutMs);
    return this.ended ?? null;
  }

  private until<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (this.ended !== undefined && probe() === undefined && what !== "the stream to end") {
          cleanup();
          reject(new Error(`stream ended (${this.ended?.message ?? "OK"}) before ${what}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
