import net from "node:net";
import { readPreface, type PrefaceVerdict } from "./connection-preface.js";

/** Why the server closed a connection (a metric label). */
export type ConnectionCloseReason =
  | "handshake_timeout"
  | "bad_preface"
  | "request_timeout"
  | "bad_request"
  | "idle"
  | "not_reading";

/** Where a listener reports the connections it refuses and closes (metrics). */
export interface ConnectionEvents {
  /** A connection arrived while `maxConnections` were open, and was closed at once. */
  refused(listener: string): void;
  /** The server closed a connection, for `reason`. */
  closed(listener: string, reason: ConnectionCloseReason): void;
}

/** Options for {@link GuardedListener}. */
export interface GuardedListenerOptions {
  /** Name of the listener in metrics: "grpc" or "http". */
  name: string;
  /** Open connections at most; more are closed on arrival. */
  maxConnections: number;
  /** How long a new connection may take to send the bytes that tell its protocol, ms. */
  handshakeTimeoutMs: number;
  /**
   * False for a TLS port, whose first bytes are a TLS handshake: connections are routed as
   * HTTP/2 at once (Node's TLS handshake timeout applies instead). Default true.
   */
  readsPreface?: boolean;
  /** Told about refused and closed connections. */
  events?: ConnectionEvents;
  /**
   * Takes a connection whose first bytes are read (put back, socket paused): returns the
   * close reason to refuse it, or undefined once it is handed to a server.
   */
  route(socket: net.Socket, protocol: "http2" | "http1"): ConnectionCloseReason | undefined;
}

/**
 * A TCP listener that guards a port before any protocol stack sees a connection: it holds
 * at most `maxConnections` (Node closes further ones on arrival), closes a connection that
 * does not tell its protocol within `handshakeTimeoutMs`, and keeps every open socket by
 * peer address so that one can be closed from a call (`destroyPeer`).
 */
export class GuardedListener {
  /** The listening socket server: call `listen` on it. */
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly byPeer = new Map<string, net.Socket>();

  constructor(private readonly options: GuardedListenerOptions) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = options.maxConnections;
    this.server.on("drop", () => options.events?.refused(options.name));
  }

  /** Connections open now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Every open connection. */
  get connections(): ReadonlySet<net.Socket> {
    return this.sockets;
  }

  /**
   * Closes the connection of `peer` ("address:port", as grpc-js `getPeer()` names it).
   * Returns false when no such connection is open.
   */
  destroyPeer(peer: string, reason: ConnectionCloseReason): boolean {
    const socket = this.byPeer.get(peer);
    if (!socket) return false;
    this.closeFor(socket, reason);
    return true;
  }

  /** Stops accepting connections; resolves once the listener is closed (open ones stay). */
  stopListening(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
  }

  /** Destroys every open connection. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(socket: net.Socket): void {
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    this.sockets.add(socket);
    this.byPeer.set(peer, socket);
    socket.once("close", () => {
      this.sockets.delete(socket);
      if (this.byPeer.get(peer) === socket) this.byPeer.delete(peer);
    });
    // A reset or broken connection must never become an unhandled error.
    socket.on("error", () => socket.destroy());
    if (this.options.readsPreface === false) this.route(socket, "http2");
    else readPreface(socket, this.options.handshakeTimeoutMs, (verdict) => this.route(socket, verdict));
  }

  private route(socket: net.Socket, verdict: PrefaceVerdict): void {
    if (verdict === "closed") return;
    if (verdict === "timeout") {
      this.closeFor(socket, "handshake_timeout");
      return;
    }
    if (verdict === "bad_preface") {
      this.closeFor(socket, "bad_preface");
      return;
    }
    const refused = this.options.route(socket, verdict);
    if (refused !== undefined) this.closeFor(socket, refused);
  }

  private closeFor(socket: net.Socket, reason: ConnectionCloseReason): void {
    if (socket.destroyed) return;
    socket.destroy();
    this.options.events?.closed(this.options.name, reason);
  }
}
