import type { CompiledDevStackOptions } from "./dev-options.js";
import type { DevServices } from "./dev-services.js";

/** The environments of the dev stack's children. */
export interface DevChildEnvironments {
  /** The server's: the stack's Postgres, Redis and ports. */
  server: NodeJS.ProcessEnv;
  /** The example worker's: the address of the stack's server (`TQ_SERVER`). */
  worker: NodeJS.ProcessEnv;
}

/** Listen addresses meaning "every interface": a client on this machine dials localhost. */
const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Builds the children's environments from the stack's own settings, so that every child uses
 * the addresses the stack chose rather than its own defaults: the server gets `DATABASE_URL`,
 * `REDIS_URL` (and `DATABASE_POOL_SIZE` for the embedded database), `GRPC_PORT` and
 * `HTTP_PORT`; the example worker gets `TQ_SERVER` pointing at that gRPC port (on `HOST`
 * when the server listens on one address, else localhost), overriding any `TQ_SERVER` given,
 * and `TQ_TOKEN` = `TQ_ADMIN_TOKEN` when the server has one and no `TQ_TOKEN` is given.
 */
export function devChildEnvironments(
  options: Pick<CompiledDevStackOptions, "env" | "grpcPort" | "httpPort">,
  services: Pick<DevServices, "databaseUrl" | "redisUrl" | "databasePoolSize">,
): DevChildEnvironments {
  const server: NodeJS.ProcessEnv = {
    ...options.env,
    DATABASE_URL: services.databaseUrl,
    REDIS_URL: services.redisUrl,
    GRPC_PORT: String(options.grpcPort),
    HTTP_PORT: String(options.httpPort),
    ...(services.databasePoolSize === undefined ? {} : { DATABASE_POOL_SIZE: String(services.databasePoolSize) }),
  };
  // With a bootstrap admin token, the example worker presents it (unless given a token of its own).
  const token = options.env.TQ_TOKEN ?? options.env.TQ_ADMIN_TOKEN;
  const worker: NodeJS.ProcessEnv = {
    ...options.env,
    TQ_SERVER: serverAddress(options.env.HOST, options.grpcPort),
    ...(token === undefined || token === "" ? {} : { TQ_TOKEN: token }),
  };
  return { server, worker };
}

/** `host:port` a local client dials to reach a server listening on `host` (default every interface). */
function serverAddress(listenHost: string | undefined, port: number): string {
  const host = listenHost?.trim() ?? "";
  if (host === "" || WILDCARD_HOSTS.has(host)) return `localhost:${port}`;
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}
