import { setMaxListeners } from "node:events";
import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../observability/logger.js";
import { abandonCallKey, abandonHttpCall } from "./call-abandon.js";
import type { ConnectionLimits } from "./connection-limits.js";
import { createErrorInterceptor } from "./connect-error-interceptor.js";
import { compileCorsOptions, handleCors, type CorsOptions } from "./cors.js";
import { createDualProtocolServer } from "./dual-protocol-server.js";
import type { ConnectionEvents } from "./guarded-listener.js";
import { peerAddressKey } from "./peer-address.js";
import { createProbeHandler, type Readiness } from "./http-probes.js";
import { gatewayReflectionRegistrations } from "./gateway-reflection.js";
import { defaultImagePath, readDescriptorImage } from "./reflection.js";
import { addRegistrationsToRouter, type ServiceRegistration } from "./service-registration.js";
import type { StaticFileHandler } from "./static-files.js";
import type { TlsMaterial } from "./tls-material.js";
import type { TlsUpdates } from "./tls-reload.js";

/** An incoming gateway request, over HTTP/1.1 or HTTP/2. */
export type GatewayRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A gateway response, over HTTP/1.1 or HTTP/2. */
export type GatewayResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Typed error for a gateway that cannot start. */
export class HttpGatewayStartError extends Error {
  /** Creates the error; `cause` is the underlying failure (e.g. port in use). */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HttpGatewayStartError";
  }
}

/** Options for {@link startHttpGateway}. */
export interface HttpGatewayOptions {
  /** Interface to listen on. Default "0.0.0.0". */
  host?: string;
  /** Port to listen on; 0 picks a free port (the bound one is returned). Default 8080. */
  port?: number;
  /** The services to serve over Connect, gRPC-Web and gRPC. */
  registrations: readonly ServiceRegistration[];
  /** Serve server reflection v1 and v1alpha (listing the registered services). Default true. */
  reflection?: boolean;
  /** Buf image (FileDescriptorSet with source info) feeding reflection. Default `gen/image.binpb`. */
  imagePath?: string;
  /** Logger for start, stop and unexpected errors. */
  logger: Logger;
  /** Readiness check behind `GET /readyz`. Default: always ready. */
  ready?: () => Promise<Readiness>;
  /** Deadline of one readiness check; a miss answers 503. Default 2000 ms. */
  readyTimeoutMs?: number;
  /**
   * More routes (e.g. `/metrics`, the dashboard), tried after the probes and before the
   * RPC routes: return true when the request was handled.
   */
  extraRoutes?: (req: GatewayRequest, res: GatewayResponse) => boolean;
  /**
   * Static files (the dashboard), tried last for GET and HEAD requests outside the services'
   * paths (`/package.Service/...`). Default: none.
   */
  staticFiles?: StaticFileHandler;
  /** Largest request message accepted. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** CORS policy for browsers. Default: any origin (the server passes `CORS_ORIGINS`). */
  cors?: CorsOptions;
  /** Connection cap, handshake, header and idle timeouts, streams per HTTP/2 connection. */
  connections?: ConnectionLimits;
  /** Told about refused and closed connections (metrics). */
  connectionEvents?: ConnectionEvents;
  /**
   * Connect server interceptors every RPC goes through after the error mapping (the first
   * outermost): pass the same list as the grpc-js server's. Default none.
   */
  interceptors?: readonly Interceptor[];
  /** Serve TLS only with this certificate (and client CA for mTLS). Default plaintext. */
  tls?: TlsMaterial;
  /** New TLS material for new connections (certificate reload). */
  tlsUpdates?: TlsUpdates;
}

/** {@link HttpGatewayOptions} with every default applied. */
export interface CompiledHttpGatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly registrations: readonly ServiceRegistration[];
  readonly reflection: boolean;
  readonly imagePath: string;
  readonly logger: Logger;
  readonly ready: () => Promise<Readiness>;
  readonly readyTimeoutMs: number;
  readonly extraRoutes: ((req: GatewayRequest, res: GatewayResponse) => boolean) | undefined;
  readonly staticFiles: StaticFileHandler | undefined;
  readonly maxReceiveMessageBytes: number;
  readonly cors: CorsOptions;
  readonly connections: ConnectionLimits;
  readonly connectionEvents: ConnectionEvents | undefined;
  readonly interceptors: readonly Interceptor[];
  readonly tls: TlsMaterial | undefined;
  readonly tlsUpdates: TlsUpdates | undefined;
}

/** A running HTTP gateway. */
export interface HttpGatewayHandle {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** Connections open now. */
  readonly openConnections: number;
  /**
   * Stops accepting connections and lets running requests finish; after `graceMs`
   * (default 10 s) aborts the signal of the calls still running and closes every
   * connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** Applies the defaults of {@link HttpGatewayOptions}. */
export function compileHttpGatewayOptions(options: HttpGatewayOptions): CompiledHttpGatewayOptions {
  return {
    host: options.host ?? "0.0.0.0",
    port: options.port ?? 8080,
    registrations: options.registrations,
    reflection: options.reflection ?? true,
    imagePath: options.imagePath ?? defaultImagePath,
    logger: options.logger,
    ready: options.ready ?? (() => Promise.resolve({ ok: true, checks: {} })),
    readyTimeoutMs: options.readyTimeoutMs ?? 2000,
    extraRoutes: options.extraRoutes,
    staticFiles: options.staticFiles,
    maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    cors: options.cors ?? {},
    connections: options.connections ?? {},
    connectionEvents: options.connectionEvents,
    interceptors: options.interceptors ?? [],
    tls: options.tls,
    tlsUpdates: options.tlsUpdates,
  };
}

/**
 * Starts the HTTP gateway: the registered services over Connect (JSON and binary),
 * gRPC-Web and gRPC, on HTTP/1.1 and cleartext HTTP/2 on one port, plus `/healthz`,
 * `/readyz`, server reflection (for grpcurl over h2c), CORS for browsers and, when given, static
 * files (the dashboard) at every other GET path. Handler errors that are not `ConnectError`s reach the
 * client as INTERNAL "internal error", as on the grpc-js server.
 */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGatewayHandle> {
  const compiled = compileHttpGatewayOptions(options);
  const { logger } = compiled;
  const shutdownController = new AbortController();
  // Every call listens to this signal: no listener limit.
  setMaxListeners(0, shutdownController.signal);
  const cors = compileCorsOptions(compiled.cors);
  const reflection = compiled.reflection
    ? gatewayReflectionRegistrations({
        files: await readDescriptorImage(compiled.imagePath),
        services: compiled.registrations.map((r) => r.service.typeName),
      })
    : [];
  const rpcHandler = connectNodeAdapter({
    routes: (router) => addRegistrationsToRouter(router, [...compiled.registrations, ...reflection]),
    readMaxBytes: compiled.maxReceiveMessageBytes,
    shutdownSignal: shutdownController.signal,
    interceptors: [createErrorInterceptor(logger), ...compiled.interceptors],
    // A misspelt field ("paylod") is an error, not silently dropped.
    jsonOptions: { ignoreUnknownFields: false },
    // A handler can end a stream whose client does not read (see abandonCallKey).
    contextValues: (req) =>
      createContextValues()
        .set(abandonCallKey, () => abandonHttpCall(req))
        .set(peerAddressKey, () => req.socket.remoteAddress ?? ""),
  });
  const servicePrefixes = [...compiled.registrations, ...reflection].map((r) => `/${r.service.typeName}/`);
  const isServicePath = (url: string | undefined): boolean => servicePrefixes.some((prefix) => url?.startsWith(prefix));
  const probes = createProbeHandler({ ready: compiled.ready, readyTimeoutMs: compiled.readyTimeoutMs, logger });

  const handler = (req: GatewayRequest, res: GatewayResponse): void => {
    try {
      if (handleCors(req, res, cors) || probes(req, res) || compiled.extraRoutes?.(req, res) === true) {
        return;
      }
      if (compiled.staticFiles && !isServicePath(req.url) && compiled.staticFiles(req, res)) {
        return;
      }
      rpcHandler(req, res);
    } catch (error) {
      logger.error({ err: error, url: req.url }, "http gateway: request failed");
      if (!res.headersSent) {
        res.writeHead(500).end();
      } else {
        res.destroy();
      }
    }
  };
  const dual = createDualProtocolServer(handler, {
    connections: compiled.connections,
    connectionEvents: compiled.connectionEvents,
    tls: compiled.tls,
    tlsUpdates: compiled.tlsUpdates,
    onGraceExpired: () => {
      logger.warn("http gateway: requests still running after the grace period, closing them");
      shutdownController.abort();
    },
  });
  const port = await listen(dual.server, compiled.host, compiled.port);
  logger.info({ host: compiled.host, port, tls: compiled.tls !== undefined }, "http gateway listening");
  let closing: Promise<void> | undefined;
  return {
    port,
    get openConnections() {
      return dual.openConnections;
    },
    close(graceMs = 10_000) {
      closing ??= dual.close(graceMs).then(() => logger.info("http gateway stopped"));
      return closing;
    },
  };
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new HttpGatewayStartError(`cannot listen on ${host}:${port}`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.removeListener("error", onError);
      const address = server.address();
      resolve(typeof address === "object" && address !== null ? address.port : port);
    });
  });
}
