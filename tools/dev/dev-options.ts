import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Options for the `npm run dev` stack ({@link compileDevStackOptions}). */
export interface DevStackOptions {
  /** Repository root: children run there and relative paths resolve against it. Default this checkout. */
  rootDir?: string;
  /** Postgres to use; default env DATABASE_URL, else an embedded PGlite. */
  databaseUrl?: string;
  /** Redis to use; default env REDIS_URL, else a private redis-server. */
  redisUrl?: string;
  /** Folder for local state (`pglite/`, `redis/`). Default `<rootDir>/.data`. */
  dataDir?: string;
  /** Preferred port of the private redis-server, used when free. Default 6380. */
  redisPort?: number;
  /** Entry of the server process. Default `server/main.ts`. */
  serverEntry?: string;
  /** Entry of the example worker process. Default `worker/example/main.ts`. */
  workerEntry?: string;
  /** gRPC port shown in the banner; default env GRPC_PORT or 50051. */
  grpcPort?: number;
  /** HTTP gateway port shown in the banner; default env HTTP_PORT or 8080. */
  httpPort?: number;
  /** How long a child may take to exit after SIGTERM before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  /** Base environment of the children. Default the current environment. */
  env?: NodeJS.ProcessEnv;
}

/** {@link DevStackOptions} with defaults applied. */
export interface CompiledDevStackOptions {
  rootDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  dataDir: string;
  redisPort: number;
  serverEntry: string;
  workerEntry: string;
  grpcPort: number;
  httpPort: number;
  stopTimeoutMs: number;
  env: NodeJS.ProcessEnv;
}

/** The repository root, two levels above this file (`tools/dev/`). */
export function defaultRootDir(): string {
  return fileURLToPath(new URL("../..", import.meta.url));
}

/** Applies the defaults of {@link DevStackOptions}, reading unset values from `options.env`. */
export function compileDevStackOptions(options: DevStackOptions = {}): CompiledDevStackOptions {
  const env = options.env ?? process.env;
  const rootDir = resolve(options.rootDir ?? defaultRootDir());
  return {
    rootDir,
    databaseUrl: options.databaseUrl ?? nonEmpty(env.DATABASE_URL),
    redisUrl: options.redisUrl ?? nonEmpty(env.REDIS_URL),
    dataDir: resolve(rootDir, options.dataDir ?? ".data"),
    redisPort: options.redisPort ?? 6380,
    serverEntry: resolve(rootDir, options.serverEntry ?? "server/main.ts"),
    workerEntry: resolve(rootDir, options.workerEntry ?? "worker/example/main.ts"),
    grpcPort: options.grpcPort ?? portFromEnv(env.GRPC_PORT, 50051),
    httpPort: options.httpPort ?? portFromEnv(env.HTTP_PORT, 8080),
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
    env,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

function portFromEnv(value: string | undefined, fallback: number): number {
  const port = Number(value);
  return value !== undefined && Number.isInteger(port) && port > 0 ? port : fallback;
}
