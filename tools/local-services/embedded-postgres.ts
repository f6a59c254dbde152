import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { Logger } from "../../server/observability/logger.js";
import { LocalServiceError } from "./errors.js";
import { LOOPBACK_HOST } from "./free-port.js";

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Data folder (created if missing). Default `./.data/pglite`, resolved against `cwd`. */
  dataDir?: string;
  /** Base for a relative `dataDir`. Default the current directory. */
  cwd?: string;
  /** TCP port on 127.0.0.1; default one chosen by the system. */
  port?: number;
  /** How long a connection may wait while another one holds the database. Default 60 s. */
  connectionQueueTimeoutMs?: number;
  /** Logs start, stop and socket errors. */
  logger?: Logger;
}

/** {@link EmbeddedPostgresOptions} with defaults applied. */
export interface CompiledEmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  connectionQueueTimeoutMs: number;
  logger: Logger | undefined;
}

/** Applies the defaults of {@link EmbeddedPostgresOptions}. */
export function compileEmbeddedPostgresOptions(options: EmbeddedPostgresOptions = {}): CompiledEmbeddedPostgresOptions {
  return {
    dataDir: resolve(options.cwd ?? process.cwd(), options.dataDir ?? ".data/pglite"),
    port: options.port ?? 0,
    connectionQueueTimeoutMs: options.connectionQueueTimeoutMs ?? 60_000,
    logger: options.logger,
  };
}

/** An in-process PGlite database served over the Postgres wire protocol on 127.0.0.1. */
export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`, usable by `pg` as DATABASE_URL. */
  readonly url: string;
  /** The TCP port. */
  readonly port: number;
  /** The data folder. */
  readonly dataDir: string;
  /**
   * Connections served at once: always 1. PGlite is a single session; further connections
   * wait in a queue until the current one closes, so a pool must hold at most one connection.
   */
  readonly maxConnections: 1;
  /** Closes the socket server and the database. */
  stop(): Promise<void>;
}

/**
 * Opens (or creates) a PGlite database in `dataDir` and serves it with `PGLiteSocketServer`
 * on 127.0.0.1, for `npm run dev` when no DATABASE_URL is given. Not for tests or benchmarks:
 * it serves one connection at a time and runs every statement in this process.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const compiled = compileEmbeddedPostgresOptions(options);
  const { PGlite: PGliteClass, PGLiteSocketServer: ServerClass } = await loadPglite();
  await mkdir(compiled.dataDir, { recursive: true });
  const db: PGlite = await PGliteClass.create(compiled.dataDir);
  const server: PGLiteSocketServer = new ServerClass({
    db,
    host: LOOPBACK_HOST,
    port: compiled.port,
    connectionQueueTimeout: compiled.connectionQueueTimeoutMs,
  });
  server.addEventListener("error", (event) => {
    compiled.logger?.warn({ err: (event as CustomEvent).detail }, "embedded postgres socket error");
  });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw new LocalServiceError(`embedded postgres: cannot listen on ${LOOPBACK_HOST}:${compiled.port}`, { cause: error });
  }
  const port = Number(server.getServerConn().split(":").pop());
  compiled.logger?.info({ dataDir: compiled.dataDir, port }, "embedded postgres (PGlite) listening");
  let stopped = false;
  return {
    url: `postgres://postgres@${LOOPBACK_HOST}:${port}/postgres`,
    port,
    dataDir: compiled.dataDir,
    maxConnections: 1,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
    },
  };
}

async function loadPglite(): Promise<{ PGlite: typeof PGlite; PGLiteSocketServer: typeof PGLiteSocketServer }> {
  try {
    const [{ PGlite: pglite }, { PGLiteSocketServer: socketServer }] = await Promise.all([
      import("@electric-sql/pglite"),
      import("@electric-sql/pglite-socket"),
    ]);
    return { PGlite: pglite, PGLiteSocketServer: socketServer };
  } catch (error) {
    throw new LocalServiceError(
      "embedded postgres needs the optional packages @electric-sql/pglite and @electric-sql/pglite-socket; " +
        "install them or set DATABASE_URL to a Postgres server",
      { cause: error },
    );
  }
}
