import type { Interceptor } from "@connectrpc/connect";
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.js";
import { compileConnectionLimits, type CompiledConnectionLimits, type ConnectionLimits } from "./connection-limits.js";
import { adaptServiceToGrpc } from "./grpc-adapter.js";
import { GuardedListener, type ConnectionEvents } from "./guarded-listener.js";
import { addReflection, defaultImagePath, readDescriptorImage } from "./reflection.js";
import type { ServiceRegistration } from "./service-registration.js";

/** Typed error for a gRPC server that cannot start. */
export class GrpcServerStartError extends Error {
  /** Creates the error; `cause` is the underlying failure (e.g. port in use). */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GrpcServerStartError";
  }
}

/** HTTP/2 keepalive pings the server sends on idle connections. */
export interface GrpcKeepaliveOptions {
  /** Interval between pings. Default 30 s. */
  timeMs?: number;
  /** How long to wait for a ping's answer before closing the connection. Default 10 s. */
  timeoutMs?: number;
}

/** Options for {@link startGrpcServer}. */
export interface GrpcServerOptions {
  /** Interface to listen on. Default "0.0.0.0". */
  host?: string;
  /** Port to listen on; 0 picks a free port (the bound one is returned). Default 50051. */
  port?: number;
  /** The services to serve (include the health service to serve it). */
  registrations: readonly ServiceRegistration[];
  /** Buf image (FileDescriptorSet with source info) feeding reflection. Default `gen/image.binpb`. */
  imagePath?: string;
  /** Serve server reflection v1 and v1alpha. Default true. */
  reflection?: boolean;
  /** Logger for start, stop and unexpected handler errors. */
  logger: Logger;
  /** Largest request message accepted. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** Largest response message sent. Default 16 MiB. */
  maxSendMessageBytes?: number;
  /** Keepalive pings. */
  keepalive?: GrpcKeepaliveOptions;
  /** Transport credentials. Default plaintext. */
  credentials?: ServerCredentials;
  /** Connection cap, handshake and idle timeouts, streams per connection. */
  connections?: ConnectionLimits;
  /** Told about refused and closed connections (metrics). */
  connectionEvents?: ConnectionEvents;
  /**
   * After a handler abandons a streaming call whose client does not read, how long the
   * status may wait behind the unread responses before the connection is closed, ms.
   * Default 5 s.
   */
  abandonGraceMs?: number;
  /**
   * Connect server interceptors every call goes through (the first outermost): pass the same
   * list as the gateway's `interceptors`. Default none.
   */
  interceptors?: readonly Interceptor[];
}

/** {@link GrpcServerOptions} with every default applied. */
export interface CompiledGrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly registrations: readonly ServiceRegistration[];
  readonly imagePath: string;
  readonly reflection: boolean;
  readonly logger: Logger;
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
  readonly keepalive: Required<GrpcKeepaliveOptions>;
  readonly credentials: ServerCredentials;
  readonly connections: CompiledConnectionLimits;
  readonly connectionEvents: ConnectionEvents | undefined;
  readonly abandonGraceMs: number;
  readonly interceptors: readonly Interceptor[];
}

/** A running gRPC server. */
export interface GrpcServerHandle {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Connections open now. */
  readonly openConnections: number;
  /**
   * Stops accepting calls and waits for running ones to finish; after `graceMs`
   * (default 10 s) aborts the signal of the calls still running and closes every
   * connection.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Applies the defaults of {@link GrpcServerOptions}. */
export function compileGrpcServerOptions(options: GrpcServerOptions): CompiledGrpcServerOptions {
  return {
    host: options.host ?? "0.0.0.0",
    port: options.port ?? 50051,
    registrations: options.registrations,
    imagePath: options.imagePath ?? defaultImagePath,
    reflection: options.reflection ?? true,
    logger: options.logger,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    maxSendMessageBytes: options.maxSendMessageBytes ?? 16 * 1024 * 1024,
    keepalive: {
      timeMs: options.keepalive?.timeMs ?? 30_000,
      timeoutMs: options.keepalive?.timeoutMs ?? 10_000,
    },
    credentials: options.credentials ?? ServerCredentials.createInsecure(),
    connections: compileConnectionLimits(options.connections),
    connectionEvents: options.connectionEvents,
    abandonGraceMs: options.abandonGraceMs ?? 5_000,
    interceptors: options.interceptors ?? [],
  };
}

/**
 * Starts a grpc-js server serving the registered Connect service implementations, with
 * server reflection fed from the buf image.
 *
 * The port is a {@link GuardedListener}: it caps open connections, closes one that does not
 * send the HTTP/2 preface within the handshake timeout, and only then hands it to grpc-js
 * (through a connection injector), which closes connections idle for `idleTimeoutMs`.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const compiled = compileGrpcServerOptions(options);
  const { logger } = compiled;
  const shutdownController = new AbortController();
  const server = new Server(serverOptions(compiled));
  const injector = server.createConnectionInjector(compiled.credentials);
  const listener = new GuardedListener({
    name: "grpc",
    maxConnections: compiled.connections.maxConnections,
    handshakeTimeoutMs: compiled.connections.handshakeTimeoutMs,
    readsPreface: !compiled.credentials._isSecure(),
    events: compiled.connectionEvents,
    route: (socket, protocol) => {
      if (protocol !== "http2") return "bad_preface";
      injector.injectConnection(socket);
      return undefined;
    },
  });
  const closePeer = (peer: string): void => {
    if (listener.destroyPeer(peer, "not_reading")) {
      logger.warn({ peer }, "grpc server: closed a connection whose client does not read an abandoned call");
    }
  };
  for (const registration of compiled.registrations) {
    const binding = adaptServiceToGrpc(registration, {
      logger,
      shutdownSignal: shutdownController.signal,
      abandon: { graceMs: compiled.abandonGraceMs, closePeer },
      interceptors: compiled.interceptors,
    });
    server.addService(binding.definition, binding.implementation);
  }
  if (compiled.reflection) {
    addReflection(server, {
      files: await readDescriptorImage(compiled.imagePath),
      services: compiled.registrations.map((r) => r.service.typeName),
    });
  }
  const port = await listen(listener, compiled);
  logger.info({ host: compiled.host, port }, "grpc server listening");
  let stopping: Promise<void> | undefined;
  return {
    port,
    get openConnections() {
      return listener.openConnections;
    },
    shutdown(graceMs = 10_000) {
      stopping ??= stop(server, listener, shutdownController, graceMs, logger);
      return stopping;
    },
  };
}

function serverOptions(compiled: CompiledGrpcServerOptions): ServerOptions {
  return {
    "grpc.max_receive_message_length": compiled.maxReceiveMessageBytes,
    "grpc.max_send_message_length": compiled.maxSendMessageBytes,
    "grpc.keepalive_time_ms": compiled.keepalive.timeMs,
    "grpc.keepalive_timeout_ms": compiled.keepalive.timeoutMs,
    "grpc.max_connection_idle_ms": compiled.connections.idleTimeoutMs,
    "grpc.max_concurrent_streams": compiled.connections.maxStreamsPerConnection,
    // grpc.enable_channelz stays on: grpc-js 1.14's forceShutdown destroys only the sessions
    // channelz tracks, so without it open streams outlive the shutdown grace period.
  };
}

function listen(listener: GuardedListener, compiled: CompiledGrpcServerOptions): Promise<number> {
  const address = `${compiled.host}:${compiled.port}`;
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new GrpcServerStartError(`cannot listen on ${address}`, { cause: error }));
    };
    listener.server.once("error", onError);
    listener.server.listen(compiled.port, compiled.host, () => {
      listener.server.removeListener("error", onError);
      const bound = listener.server.address();
      resolve(typeof bound === "object" && bound !== null ? bound.port : compiled.port);
    });
  });
}

/** Graceful, then forced, shutdown. */
function stop(
  server: Server,
  listener: GuardedListener,
  shutdownController: AbortController,
  graceMs: number,
  logger: Logger,
): Promise<void> {
  const listenerClosed = listener.stopListening();
  const calls = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ graceMs }, "grpc server: calls still running after the grace period, closing them");
      shutdownController.abort();
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown((error) => {
      clearTimeout(timer);
      if (error !== undefined) {
        logger.warn({ err: error }, "grpc server: graceful shutdown failed, closing connections");
        shutdownController.abort();
        server.forceShutdown();
      }
      resolve();
    });
  });
  return calls.then(async () => {
    // Connections grpc-js never got (still sending their preface) or has let go of.
    listener.destroyAll();
    await listenerClosed;
    logger.info("grpc server stopped");
  });
}
