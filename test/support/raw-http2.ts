import http2 from "node:http2";
import net from "node:net";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ConnectRequestSchema } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { WaitTimeoutError } from "./wait-for.js";

/*
 * gRPC spoken by hand over node:http2 and raw sockets: what a hostile or careless client
 * sends (frames the server must survive, streams it never reads) is out of reach of the
 * generated clients.
 */

/** The bytes every HTTP/2 prior-knowledge connection starts with. */
export const HTTP2_MAGIC = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** An empty SETTINGS frame: with {@link HTTP2_MAGIC}, a complete client preface. */
export const EMPTY_SETTINGS_FRAME = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

/** One gRPC length-prefixed message: flag byte (1 = compressed), big-endian length, bytes. */
export function grpcFrame(message: Uint8Array, compressed = false): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame[0] = compressed ? 1 : 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** A `ConnectRequest` of the worker stream, as one gRPC frame. */
export function workerRequestFrame(message: MessageInitShape<typeof ConnectRequestSchema>["message"]): Buffer {
  return grpcFrame(toBinary(ConnectRequestSchema, create(ConnectRequestSchema, { message })));
}

/** Opens an HTTP/2 session and resolves once it is connected. */
export function connectHttp2(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once("connect", () => {
      session.removeListener("error", reject);
      // A session the server closes must not fail the test through an unhandled error.
      session.on("error", () => undefined);
      resolve(session);
    });
    session.once("error", reject);
  });
}

/** Starts a gRPC call on `session` (request headers only; write frames to the stream). */
export function openGrpcCall(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  stream.on("error", () => undefined);
  return stream;
}

/** How a raw gRPC call ended. */
export interface RawCallOutcome {
  /** `grpc-status` from the trailers (or a trailers-only response), if any came. */
  status: number | undefined;
  /** `grpc-message`, decoded. */
  message: string;
  /** Response bytes received (frames included). */
  bytes: number;
  /** The stream's RST_STREAM code (0 for a clean end). */
  rstCode: number;
}

/**
 * Reads a call until the server ends it (its status, or a reset) and reports how; rejects
 * after `timeoutMs`. The request side may still be open: the server's end is what counts.
 */
export function readGrpcOutcome(stream: http2.ClientHttp2Stream, timeoutMs: number): Promise<RawCallOutcome> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const finish = (status: number | undefined, message: string): void => {
      clearTimeout(timer);
      resolve({ status, message, bytes, rstCode: stream.rstCode ?? 0 });
    };
    const takeStatus = (headers: http2.IncomingHttpHeaders): void => {
      const code = headers["grpc-status"];
      if (code !== undefined) finish(Number(code), decodeURIComponent(String(headers["grpc-message"] ?? "")));
    };
    const timer = setTimeout(() => {
      reject(new WaitTimeoutError(`no end of the call within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.on("response", takeStatus);
    stream.on("trailers", takeStatus);
    stream.on("data", (chunk: Buffer) => (bytes += chunk.length));
    stream.once("close", () => finish(undefined, ""));
  });
}

/**
 * Opens a TCP connection and resolves once it is connected. What the server sends is read
 * (and dropped unless a "data" listener takes it), so that its close is seen.
 */
export function connectTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      socket.on("error", () => undefined);
      socket.resume();
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A socket, session or stream: closed already, or emitting "close" once it is. */
type Closable = NodeJS.EventEmitter & { readonly closed?: boolean; readonly destroyed?: boolean };

/**
 * Resolves once `emitter` has closed (at once if it already has), whatever errors come
 * first; rejects after `timeoutMs`.
 */
export function waitForClose(emitter: Closable, what: string, timeoutMs: number): Promise<void> {
  if (emitter.destroyed === true || (emitter instanceof net.Socket ? false : emitter.closed === true)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what} to close`)), timeoutMs);
    emitter.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
