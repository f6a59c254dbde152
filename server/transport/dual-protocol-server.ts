import http from "node:http";
import http2 from "node:http2";
import type net from "node:net";
import { compileConnectionLimits, type ConnectionLimits } from "./connection-limits.js";
import { GuardedListener, type ConnectionEvents } from "./guarded-listener.js";
import { closeWhenIdle } from "./http2-idle-sessions.js";
import { createTlsTerminator, type TlsMaterial } from "./tls-material.js";
import { secureContextOptions, type TlsUpdates } from "./tls-reload.js";
import { HTTP2_SESSION_MEMORY_MB } from "../../wire/http2-session-memory.js";

/** The handler both protocols share (HTTP/1.1 and HTTP/2 compatibility API). */
export type DualProtocolHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options for {@link createDualProtocolServer}. */
export interface DualProtocolServerOptions {
  /** Called when the grace period ends with connections still open, before they are destroyed. */
  onGraceExpired?: () => void;
  /** Connection cap, handshake, header and idle timeouts, streams per HTTP/2 connection. */
  connections?: ConnectionLimits;
  /** Told about refused and closed connections (metrics). */
  connectionEvents?: ConnectionEvents;
  /** Serve TLS only (HTTP/2 or HTTP/1.1 chosen by ALPN) with this material. Default plaintext. */
  tls?: TlsMaterial;
  /** New TLS material to serve to new connections (certificate reload). */
  tlsUpdates?: TlsUpdates;
}

/** A listener serving HTTP/1.1 and cleartext HTTP/2 (h2c) on one port. */
export interface DualProtocolServer {
  /** The listening socket server: call `listen` on it. */
  readonly server: net.Server;
  /** Connections open now. */
  readonly openConnections: number;
  /**
   * Stops accepting connections, lets HTTP/2 sessions finish their streams (GOAWAY) and
   * closes HTTP/1.1 connections as they go idle. After `graceMs`, calls `onGraceExpired`
   * and destroys the connections left. Resolves when every connection is closed.
   */
  close(graceMs: number): Promise<void>;
}

/** Name of the gateway's listener in metrics. */
const LISTENER = "http";

/**
 * Creates a server that answers HTTP/1.1 and h2c on one port. Node's `allowHTTP1`
 * works only with TLS, so each new connection's first bytes are inspected: the HTTP/2
 * connection preface goes to an HTTP/2 server, anything else to an HTTP/1.1 server.
 *
 * The port is a {@link GuardedListener} (connection cap, handshake timeout). HTTP/1.1
 * requests must send their headers within `headersTimeoutMs` and finish within Node's
 * `requestTimeout` (5 min); keep-alive connections close after Node's 5 s. HTTP/2 sessions
 * close after `idleTimeoutMs` without a stream and take at most `maxStreamsPerConnection`
 * streams at once.
 */
export function createDualProtocolServer(
  handler: DualProtocolHandler,
  options: DualProtocolServerOptions = {},
): DualProtocolServer {
  const limits = compileConnectionLimits(options.connections);
  const events = options.connectionEvents;
  const http1Server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      // Node checks the header and request timeouts on this period.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    handler,
  );
  const http2Server = http2.createServer(
    { settings: { maxConcurrentStreams: limits.maxStreamsPerConnection }, maxSessionMemory: HTTP2_SESSION_MEMORY_MB },
    handler,
  );
  // Connections reach the HTTP/1.1 server by "connection" events, so it never listens, and
  // Node starts the timer that enforces headersTimeout and requestTimeout (and tracks the
  // connections closeIdleConnections closes) when a server starts listening: start it here.
  http1Server.emit("listening");
  http1Server.on("clientError", (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const timedOut = error.code === "ERR_HTTP_REQUEST_TIMEOUT";
    if (error.code !== "ECONNRESET") events?.closed(LISTENER, timedOut ? "request_timeout" : "bad_request");
    rejectRequest(socket, error.code);
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  http2Server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    // A broken session must never become an unhandled error.
    session.on("error", () => session.destroy());
    closeWhenIdle(session, limits.idleTimeoutMs, () => events?.closed(LISTENER, "idle"));
    if (closing) {
      session.close();
    }
  });
  http1Server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (closing && !res.headersSent) {
      res.setHeader("Connection", "close");
    }
    res.once("finish", () => {
      if (closing) {
        http1Server.closeIdleConnections();
      }
    });
  });

  const { tls } = options;
  const terminator =
    tls &&
    createTlsTerminator(tls, limits.handshakeTimeoutMs, (secure) => {
      if (secure.alpnProtocol === "h2") http2Server.emit("connection", secure);
      else http1Server.emit("connection", secure);
    });
  if (terminator) options.tlsUpdates?.subscribe((material) => terminator.setSecureContext(secureContextOptions(material)));
  const listener = new GuardedListener({
    name: LISTENER,
    maxConnections: limits.maxConnections,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    events,
    // With TLS the first bytes are a ClientHello: ALPN, not the preface, tells the protocol.
    readsPreface: tls === undefined,
    route: (socket, protocol) => {
      if (terminator) {
        terminator.emit("connection", socket);
        return undefined;
      }
      if (protocol === "http2") {
        // The HTTP/2 session reads the bytes already buffered on the socket by itself.
        http2Server.emit("connection", socket);
      } else {
        // The HTTP/1.1 parser reads through "data" events: let them flow again.
        http1Server.emit("connection", socket);
        socket.resume();
      }
      return undefined;
    },
  });

  return {
    server: listener.server,
    get openConnections() {
      return listener.openConnections;
    },
    close(graceMs) {
      closing = true;
      const closed = listener.stopListening();
      for (const session of sessions) {
        session.close();
      }
      http1Server.closeIdleConnections();
      const timer = setTimeout(() => {
        options.onGraceExpired?.();
        for (const session of sessions) {
          session.destroy();
        }
        listener.destroyAll();
      }, graceMs);
      return closed.finally(() => {
        clearTimeout(timer);
        // Stops Node's connection checking timer.
        http1Server.close();
      });
    },
  };
}

/** Answers a request the HTTP/1.1 parser refused (as Node does without a clientError listener). */
function rejectRequest(socket: net.Socket, code: string | undefined): void {
  if (socket.writable && !(socket as net.Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    const status =
      code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : code === "HPE_HEADER_OVERFLOW"
          ? "431 Request Header Fields Too Large"
          : "400 Bad Request";
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  }
  socket.destroy();
}
