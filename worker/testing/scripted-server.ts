import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ConnectResponseSchema,
  WorkerService,
  type ConnectRequest,
  type ConnectResponse,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import { Outbox } from "../outbox.js";
import { WaitQueue } from "./deadline.js";

/** A request case name, e.g. "hello" or "credit". */
export type RequestCase = NonNullable<ConnectRequest["message"]["case"]>;
/** The value of request case `K`. */
export type RequestOf<K extends RequestCase> = Extract<ConnectRequest["message"], { case: K }>["value"];
/** What a scripted stream can send: a ConnectResponse `message` oneof. */
export type ResponseInit = MessageInitShape<typeof ConnectResponseSchema>["message"];

const DEFAULT_WAIT_MS = 5_000;

/** Options of {@link ScriptedStream.expect}. */
export interface ExpectOptions {
  /** Deadline in ms. Default 5000. */
  ms?: number;
  /** Request cases to skip over. Default heartbeat and progress. */
  skip?: RequestCase[];
}

/**
 * The server side of one `WorkerService.Connect` stream, driven by a test: read what the
 * worker sent (with deadlines), push responses, end or fail the stream.
 */
export class ScriptedStream {
  /** Every request received, in order (including those already read). */
  readonly received: ConnectRequest[] = [];
  /** Answer each heartbeat with a heartbeat_ack, as a server does. Default true. */
  answerHeartbeats = true;
  private readonly inbox = new WaitQueue<ConnectRequest>();
  private readonly responses = new Outbox<ConnectResponse | ConnectError>();
  private readonly closedBy: Promise<void>;
  private markClosed!: () => void;
  private requestEnded = false;

  /** Creates a stream; the server feeds it through the internal hooks. */
  constructor() {
    this.closedBy = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  /** True once the worker half-closed (or dropped) its side. */
  get requestsEnded(): boolean {
    return this.requestEnded;
  }

  /** Resolves when the worker's request stream ended (half-close or drop), within `ms`. */
  async requestEnd(ms = DEFAULT_WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timed out waiting for the request stream to end")), ms);
    });
    try {
      await Promise.race([this.closedBy, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads the next request of any kind. */
  next(ms = DEFAULT_WAIT_MS): Promise<ConnectRequest> {
    return this.inbox.next(ms, "the next request");
  }

  /**
   * Reads requests until one of case `kind` arrives, skipping the cases in `skip`
   * (default heartbeats and progress reports) and failing on anything else; returns its
   * value.
   */
  async expect<K extends RequestCase>(kind: K, options: ExpectOptions = {}): Promise<RequestOf<K>> {
    const ms = options.ms ?? DEFAULT_WAIT_MS;
    const skip = options.skip ?? ["heartbeat", "progress"];
    const deadlineAt = Date.now() + ms;
    for (;;) {
      const request = await this.inbox.next(Math.max(1, deadlineAt - Date.now()), `a ${kind} request`);
      const { message } = request;
      if (message.case === kind) return message.value as RequestOf<K>;
      if (message.case !== undefined && skip.includes(message.case)) continue;
      throw new Error(`expected ${kind}, got ${message.case ?? "an empty request"}`);
    }
  }

  /** Sends one response. */
  send(message: ResponseInit): void {
    this.responses.push(create(ConnectResponseSchema, { message }));
  }

  /** Sends a welcome with the given heartbeat interval and lease duration. */
  welcome(options: { heartbeatIntervalMs?: number; leaseDurationMs?: number; sessionId?: string } = {}): void {
    this.send({
      case: "welcome",
      value: {
        sessionId: options.sessionId ?? "session-1",
        serverId: "scripted",
        heartbeatInterval: durationFromMs(options.heartbeatIntervalMs ?? 1_000),
        leaseDuration: durationFromMs(options.leaseDurationMs ?? 30_000),
      },
    });
  }

  /** Ends the response stream normally. */
  end(): void {
    this.responses.close();
  }

  /** Ends the response stream with an error. */
  fail(error: ConnectError): void {
    this.responses.push(error);
    this.responses.close();
  }

  /** @internal Feeds a request received from the worker. */
  receive(request: ConnectRequest): void {
    this.received.push(request);
    if (request.message.case === "heartbeat" && this.answerHeartbeats) {
      this.send({ case: "heartbeatAck", value: { leasesExtended: request.message.value.taskIds.length } });
    }
    this.inbox.push(request);
  }

  /** @internal The worker's request stream ended: end the responses too, as a server does. */
  receiveEnd(): void {
    this.requestEnded = true;
    this.inbox.end(new Error("the worker's request stream ended"));
    this.responses.close();
    this.markClosed();
  }

  /** @internal The responses to write, in order. */
  async *drainResponses(signal: AbortSignal): AsyncGenerator<ConnectResponse> {
    const onAbort = () => this.responses.close();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const item of this.responses) {
        if (item instanceof ConnectError) throw item;
        yield item;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** A WorkerService on an h2c port whose streams are scripted by a test. */
export interface ScriptedServer {
  /** "127.0.0.1:port" of the server. */
  readonly address: string;
  /** Every stream opened so far. */
  readonly streams: ScriptedStream[];
  /** Waits for the next stream opened by a worker. */
  nextStream(ms?: number): Promise<ScriptedStream>;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/** Starts a scripted WorkerService on `port` of 127.0.0.1 (default a free port). */
export async function startScriptedServer(port = 0): Promise<ScriptedServer> {
  const incoming = new WaitQueue<ScriptedStream>();
  const streams: ScriptedStream[] = [];
  const routes = (router: ConnectRouter) =>
    router.service(WorkerService, {
      async *connect(requests, context) {
        const stream = new ScriptedStream();
        streams.push(stream);
        incoming.push(stream);
        void (async () => {
          try {
            for await (const request of requests) stream.receive(request);
          } catch {
            // The worker dropped the stream.
          } finally {
            stream.receiveEnd();
          }
        })();
        yield* stream.drainResponses(context.signal);
      },
    });
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    streams,
    nextStream: (ms = DEFAULT_WAIT_MS) => incoming.next(ms, "a worker stream"),
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}
