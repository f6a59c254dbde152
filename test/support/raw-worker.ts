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
import { AsyncQueue } from "../../server/engine/async-queue.js";

type RequestInit = MessageInitShape<typeof ConnectRequestSchema>["message"];

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

  constructor(address: string) {
    const client = createClient(WorkerService, createGrpcTransport({ baseUrl: `http://${address}` }));
    void (async () => {
      try {
        for await (const message of client.connect(this.outbox)) {
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
  async hello(queues: string[], workerId = "raw-worker"): Promise<void> {
    this.send({ case: "hello", value: { workerId, queues, capacity: 10 } });
    await this.next((m) => m.message.case === "welcome", "welcome");
  }

  /** Half-closes the request side (a clean goodbye). */
  close(): void {
    this.outbox.close();
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
