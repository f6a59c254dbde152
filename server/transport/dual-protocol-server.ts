import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** The handler both protocols share (HTTP/1.1 and HTTP/2 compatibility API). */
export type DualProtocolHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options for {@link createDualProtocolServer}. */
export interface DualProtocolServerOptions {
  /** Called when the grace period ends with connections still open, before they are destroyed. */
  onGraceExpired?: () => void;
  /** A new connection that sends too few bytes to tell its protocol within this is closed. Default 10 s. */
  firstBytesTimeoutMs?: number;
}

/** A listener serving HTTP/1.1 and cleartext HTTP/2 (h2c) on one port. */
export interface DualProtocolServer {
  /** The listening socket server: call `listen` on it. */
  readonly server: net.Server;
  /**
   * Stops accepting connections, lets HTTP/2 sessions finish their streams (GOAWAY) and
   * closes HTTP/1.1 connections as they go idle. After `graceMs`, calls `onGraceExpired`
   * and destroys the connections left. Resolves when every connection is closed.
   */
  close(graceMs: number): Promise<void>;
}

/** The fixed bytes every HTTP/2 prior-knowledge connection starts with (RFC 9113 §3.4). */
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Creates a server that answers HTTP/1.1 and h2c on one port. Node's `allowHTTP1`
 * works only with TLS, so each new connection's first bytes are inspected: the HTTP/2
 * connection preface goes to an HTTP/2 server, anything else to an HTTP/1.1 server.
 */
export function createDualProtocolServer(
  handler: DualProtocolHandler,
  options: DualProtocolServerOptions = {},
): DualProtocolServer {
  const http1Server = http.createServer(handler);
  const http2Server = http2.createServer(handler);
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  http2Server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
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

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    routeBySniffing(socket, http1Server, http2Server, options.firstBytesTimeoutMs ?? 10_000);
  });

  return {
    server,
    close(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => {
        server.close(() => resolve());
      });
      for (const session of sessions) {
        session.close();
      }
      http1Server.closeIdleConnections();
      const timer = setTimeout(() => {
        options.onGraceExpired?.();
        for (const session of sessions) {
          session.destroy();
        }
        for (const socket of sockets) {
          socket.destroy();
        }
      }, graceMs);
      return closed.finally(() => clearTimeout(timer));
    },
  };
}

/**
 * Reads until the first bytes tell the protocol, puts them back, and hands the socket to
 * the matching server.
 */
function routeBySniffing(
  socket: net.Socket,
  http1Server: http.Server,
  http2Server: http2.Http2Server,
  timeoutMs: number,
): void {
  let buffered = Buffer.alloc(0);
  const onTimeout = (): void => {
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    const length = Math.min(buffered.length, http2Preface.length);
    const matchesSoFar = buffered.subarray(0, length).equals(http2Preface.subarray(0, length));
    if (matchesSoFar && buffered.length < http2Preface.length) {
      return; // not enough bytes yet to tell
    }
    socket.removeListener("data", onData);
    socket.removeListener("timeout", onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(buffered);
    if (matchesSoFar) {
      // The HTTP/2 session reads the bytes already buffered on the socket by itself.
      http2Server.emit("connection", socket);
    } else {
      // The HTTP/1.1 parser reads through "data" events: let them flow again.
      http1Server.emit("connection", socket);
      socket.resume();
    }
  };
  socket.setTimeout(timeoutMs, onTimeout);
  socket.on("data", onData);
}
