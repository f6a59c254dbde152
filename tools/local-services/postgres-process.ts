import type { LocalServiceProcess } from "./local-service.js";
import { access, chown, mkdir, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../../server/observability/logger.js";
import { LocalServiceError, ServiceStartError } from "./errors.js";
import { LOOPBACK_HOST } from "./free-port.js";
import { describeExit, ManagedProcess } from "./managed-process.js";
import { startOnFreePort } from "./port-race.js";
import { findPostgresBinDir } from "./postgres-binaries.js";
import { ensureDatabase, waitUntilPostgresAnswers } from "./postgres-ready.js";
import { ServiceHandle } from "./service-handle.js";
import { isRoot, lookupSystemUser, type SystemUser } from "./system-user.js";
import { createTempDir, type TempDir } from "./temp-dir.js";

/** Options for {@link startPostgresProcess}. */
export interface PostgresProcessOptions {
  /** TCP port; default a free one (retried on a race for it). */
  port?: number;
  /** Base folder (holds `data/` and the socket folder `run/`); default a new temp folder removed by `stop()`. */
  dir?: string;
  /** Folder of `initdb` and `postgres`; default found by {@link findPostgresBinDir}. */
  binDir?: string;
  /** Database created for the application. Default `taskqueue`. */
  database?: string;
  /** Whether Postgres fsyncs (`fsync`, and `full_page_writes` with it). Default true; tests pass false. */
  fsync?: boolean;
  /** `max_connections`. Default 200. */
  maxConnections?: number;
  /** Further server settings passed as `-c name=value`. */
  settings?: Readonly<Record<string, string | number | boolean>>;
  /** Account to run as when the current process is root (Postgres refuses root). Default `postgres`. */
  systemUser?: string;
  /** Deadline for initdb. Default 60 s. */
  initTimeoutMs?: number;
  /** Deadline for the server to accept connections after start. Default 30 s. */
  startTimeoutMs?: number;
  /** Deadline for the server to exit after a terminating signal before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  /** Receives initdb and server output lines at debug level. */
  logger?: Logger;
}

/** {@link PostgresProcessOptions} with defaults applied. */
export interface CompiledPostgresProcessOptions {
  port: number | undefined;
  dir: string | undefined;
  binDir: string | undefined;
  database: string;
  fsync: boolean;
  maxConnections: number;
  settings: Readonly<Record<string, string | number | boolean>>;
  systemUser: string;
  initTimeoutMs: number;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  logger: Logger | undefined;
}

/** Applies the defaults of {@link PostgresProcessOptions}. */
export function compilePostgresProcessOptions(options: PostgresProcessOptions = {}): CompiledPostgresProcessOptions {
  return {
    port: options.port,
    dir: options.dir === undefined ? undefined : resolve(options.dir),
    binDir: options.binDir,
    database: options.database ?? "taskqueue",
    fsync: options.fsync ?? true,
    maxConnections: options.maxConnections ?? 200,
    settings: options.settings ?? {},
    systemUser: options.systemUser ?? "postgres",
    initTimeoutMs: options.initTimeoutMs ?? 60_000,
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
    logger: options.logger,
  };
}

/** A private Postgres server listening on 127.0.0.1 with trust authentication. */
export interface PostgresProcess extends LocalServiceProcess {
  /** `postgres://postgres@127.0.0.1:PORT/<database>`. */
  readonly url: string;
  /**
   * SIGKILL, SIGSTOP and SIGCONT reach every Postgres process (a crash or freeze of the whole
   * server); SIGKILL resolves once all are gone. SIGTERM (smart shutdown, waits for clients),
   * SIGINT (fast) and SIGQUIT (immediate) go to the postmaster and resolve once it has exited.
   */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and data folder (data kept, crash recovery if killed). */
  restart(): Promise<void>;
}

const READY_LINE = /database system is ready to accept connections/;
const ADDRESS_IN_USE = /could not bind .*Address already in use|could not create any TCP\/IP sockets/i;

/**
 * Creates a cluster with `initdb` (trust auth, UTF8, as user `postgres` when running as root) and
 * starts `postgres` on 127.0.0.1 with its unix socket inside the base folder; resolves once it
 * accepts connections and the application database exists. A base folder that already holds a
 * cluster is reused.
 */
export async function startPostgresProcess(options: PostgresProcessOptions = {}): Promise<PostgresProcess> {
  const compiled = compilePostgresProcessOptions(options);
  const binDir = compiled.binDir ?? (await findPostgresBinDir());
  const owner = await resolveOwner(compiled.systemUser);
  const tempDir = compiled.dir === undefined ? await createTempDir("taskqueue-pg-") : undefined;
  const dir = tempDir?.path ?? (compiled.dir as string);
  try {
    const layout = await prepareLayout(dir, owner);
    if (!(await exists(join(layout.dataDir, "PG_VERSION")))) {
      await runInitdb(binDir, layout.dataDir, owner, compiled);
    }
    return await startOnFreePort(compiled.port, ADDRESS_IN_USE, async (port) => {
      const server = await spawnReadyPostgres({ binDir, port, owner, ...layout }, compiled);
      return new PostgresProcessHandle({ binDir, port, owner, ...layout }, dir, tempDir, compiled, server);
    });
  } catch (error) {
    await tempDir?.remove();
    throw error;
  }
}

interface Cluster {
  binDir: string;
  port: number;
  owner: SystemUser | undefined;
  dataDir: string;
  socketDir: string;
}

class PostgresProcessHandle extends ServiceHandle implements PostgresProcess {
  readonly url: string;
  readonly socketUrl: string;
  readonly port: number;

  constructor(
    readonly cluster: Cluster,
    readonly dir: string,
    tempDir: TempDir | undefined,
    readonly options: CompiledPostgresProcessOptions,
    server: ManagedProcess,
  ) {
    super(server, { service: "postgres", stopSignal: "SIGINT", stopTimeoutMs: options.stopTimeoutMs, tempDir });
    this.port = cluster.port;
    this.url = connectionUrl(cluster.port, options.database);
    this.socketUrl = socketConnectionUrl(cluster.socketDir, cluster.port, options.database);
  }

  protected respawn(): Promise<ManagedProcess> {
    return spawnReadyPostgres(this.cluster, this.options);
  }
}

function connectionUrl(port: number, database: string): string {
  return `postgres://postgres@${LOOPBACK_HOST}:${port}/${encodeURIComponent(database)}`;
}

/** A URL over the unix socket in `socketDir` (pg reads `host` from the query when it is a path). */
function socketConnectionUrl(socketDir: string, port: number, database: string): string {
  return `postgres://postgres@/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}&port=${port}`;
}

async function resolveOwner(systemUser: string): Promise<SystemUser | undefined> {
  if (!isRoot()) return undefined;
  const user = await lookupSystemUser(systemUser);
  if (user === undefined) {
    throw new LocalServiceError(
      `Postgres cannot run as root and there is no "${systemUser}" account to run it as ` +
        `(installing the postgresql package creates it, or: useradd --system ${systemUser})`,
    );
  }
  return user;
}

async function prepareLayout(dir: string, owner: SystemUser | undefined): Promise<{ dataDir: string; socketDir: string }> {
  const dataDir = join(dir, "data");
  const socketDir = join(dir, "run");
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await mkdir(socketDir, { recursive: true });
  if (owner !== undefined) {
    for (const path of [dir, dataDir, socketDir]) await chown(path, owner.uid, owner.gid);
  }
  return { dataDir, socketDir };
}

async function runInitdb(
  binDir: string,
  dataDir: string,
  owner: SystemUser | undefined,
  options: CompiledPostgresProcessOptions,
): Promise<void> {
  if ((await readdir(dataDir)).length > 0) {
    throw new LocalServiceError(`postgres: ${dataDir} is neither empty nor a cluster (no PG_VERSION)`);
  }
  const initdb = new ManagedProcess({
    name: "initdb",
    command: join(binDir, "initdb"),
    args: [
      "-D", dataDir,
      "-U", "postgres",
      "-A", "trust",
      "-E", "UTF8",
      "--locale=C",
      ...(options.fsync ? [] : ["--no-sync"]),
    ],
    cwd: join(dataDir, ".."),
    env: { ...process.env, LC_ALL: "C", TZ: "UTC" },
    uid: owner?.uid,
    gid: owner?.gid,
  });
  forwardOutput(initdb, options.logger, "initdb");
  const exit = await initdb.waitForExit(options.initTimeoutMs).catch(async (error: unknown) => {
    await initdb.stop("SIGKILL", options.stopTimeoutMs);
    throw error;
  });
  if (exit.code !== 0) {
    throw new ServiceStartError("initdb", `failed (${describeExit(exit)})`, initdb.tail());
  }
}

async function spawnReadyPostgres(cluster: Cluster, options: CompiledPostgresProcessOptions): Promise<ManagedProcess> {
  const settings: Record<string, string | number | boolean> = {
    listen_addresses: LOOPBACK_HOST,
    unix_socket_directories: cluster.socketDir,
    max_connections: options.maxConnections,
    fsync: options.fsync ? "on" : "off",
    full_page_writes: options.fsync ? "on" : "off",
    ...options.settings,
  };
  const server = new ManagedProcess({
    name: "postgres",
    command: join(cluster.binDir, "postgres"),
    args: [
      "-D", cluster.dataDir,
      "-p", String(cluster.port),
      ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${String(value)}`]),
    ],
    cwd: join(cluster.dataDir, ".."),
    env: { ...process.env, LC_ALL: "C" },
    uid: cluster.owner?.uid,
    gid: cluster.owner?.gid,
  });
  forwardOutput(server, options.logger, "postgres");
  try {
    const deadline = Date.now() + options.startTimeoutMs;
    await server.waitForLine(READY_LINE, options.startTimeoutMs);
    const answered = await waitUntilPostgresAnswers(connectionUrl(cluster.port, "postgres"), deadline, () => server.running);
    if (!answered.ok) throw new ServiceStartError("postgres", answered.reason, server.tail());
    await ensureDatabase(connectionUrl(cluster.port, "postgres"), options.database);
    return server;
  } catch (error) {
    await server.stop("SIGKILL", options.stopTimeoutMs);
    throw error;
  }
}

function forwardOutput(child: ManagedProcess, logger: Logger | undefined, service: string): void {
  const log = logger?.child({ service });
  if (log) child.onLine((line) => log.debug(line));
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
