import { fileURLToPath } from "node:url";
import { Server, ServerCredentials, type ServerOptions } from "@grpc/grpc-js";
import type { Logger } from "../observability/logger.js";
import { adaptServiceToGrpc } from "./grpc-adapter.js";
import { addReflection, readDescriptorImage } from "./reflection.js";
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
}

/** A running gRPC server. */
export interface GrpcServerHandle {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /**
   * Stops accepting calls and waits for running ones to finish; after `graceMs`
   * (default 10 s) aborts the signal of the calls still running and closes every
   * connection.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/** Default path of the buf image, relative to this file. */
const defaultImagePath = fileURLToPath(new URL("../../gen/image.binpb", import.meta.url));

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
  };
}

/**
 * Starts a grpc-js server serving the registered Connect service implementations, with
 * server reflection fed from the buf image.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  const compiled = compileGrpcServerOptions(options);
  const { logger } = compiled;
  const shutdownController = new AbortController();
  const server = new Server(serverOptions(compiled));
  for (const registration of compiled.registrations) {
    const binding = adaptServiceToGrpc(registration, { logger, shutdownSignal: shutdownController.signal });
    server.addService(binding.definition, binding.implementation);
  }
  if (compiled.reflection) {
    addReflection(server, {
      files: await readDescriptorImage(compiled.imagePath),
      services: compiled.registrations.map((r) => r.service.typeName),
    });
  }
  const port = await bind(server, compiled);
  logger.info({ host: compiled.host, port }, "grpc server listening");
  let stopping: Promise<void> | undefined;
  return {
    port,
    shutdown(graceMs = 10_000) {
      stopping ??= stop(server, shutdownController, graceMs, logger);
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
    // grpc.enable_channelz stays on: grpc-js 1.14's forceShutdown destroys only the sessions
    // channelz tracks, so without it open streams outlive the shutdown grace period.
  };
}

function bind(server: Server, compiled: CompiledGrpcServerOptions): Promise<number> {
  const host = compiled.host.includes(":") ? `[${compiled.host}]` : compiled.host;
  const address = `${host}:${compiled.port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, compiled.credentials, (error, port) => {
      if (error !== null) {
        reject(new GrpcServerStartError(`cannot listen on ${address}`, { cause: error }));
        return;
      }
      resolve(port);
    });
  });
}

/** Graceful, then forced, shutdown. */
function stop(server: Server, shutdownController: AbortController, graceMs: number, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
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
      logger.info("grpc server stopped");
      resolve();
    });
  });
}
