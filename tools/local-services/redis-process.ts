import type { LocalServiceProcess } from "./local-service.js";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Logger } from "../../server/observability/logger.js";
import { findRedisServer } from "./redis-binary.js";
import { BinaryNotFoundError, ServiceStartError } from "./errors.js";
import { LOOPBACK_HOST } from "./free-port.js";
import { describeExit, ManagedProcess, type ProcessExit } from "./managed-process.js";
import { startOnFreePort } from "./port-race.js";
import { pingRedis } from "./redis-ping.js";
import { ServiceHandle } from "./service-handle.js";
import { createTempDir, type TempDir } from "./temp-dir.js";

/** Options for {@link startRedisProcess}. */
export interface RedisProcessOptions {
  /** TCP port; default a free one (retried on a race for it). */
  port?: number;
  /** Working directory; default a new temp folder, removed by `stop()`. */
  dir?: string;
  /** Path of `redis-server`; default found on PATH, /usr/bin or /usr/sbin. */
  binary?: string;
  /** Extra command-line arguments, e.g. `["--maxmemory", "64mb"]`. */
  args?: readonly string[];
  /** Deadline for the server to answer PING. Default 15 s. */
  startTimeoutMs?: number;
  /** Deadline for the server to exit after a terminating signal before SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
  /** Receives the server's output lines at debug level. */
  logger?: Logger;
}

/** {@link RedisProcessOptions} with defaults applied. */
export interface CompiledRedisProcessOptions {
  port: number | undefined;
  dir: string | undefined;
  binary: string | undefined;
  args: readonly string[];
  startTimeoutMs: number;
  stopTimeoutMs: number;
  logger: Logger | undefined;
}

/** Applies the defaults of {@link RedisProcessOptions}. */
export function compileRedisProcessOptions(options: RedisProcessOptions = {}): CompiledRedisProcessOptions {
  return {
    port: options.port,
    dir: options.dir === undefined ? undefined : resolve(options.dir),
    binary: options.binary,
    args: options.args ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    logger: options.logger,
  };
}

/** A private redis-server listening on 127.0.0.1, without persistence. */
export interface RedisProcess extends LocalServiceProcess {
  /** Starts a new, empty server on the same port (stopping the current one first if it runs). */
  restart(): Promise<void>;
}

const READY_LINE = /Ready to accept connections/;
const ADDRESS_IN_USE = /Address already in use|bind: .*in use/i;

/**
 * Spawns a private `redis-server` (`--bind 127.0.0.1 --save "" --appendonly no`, own working
 * directory) and resolves once it prints that it is ready and answers PING.
 */
export async function startRedisProcess(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const compiled = compileRedisProcessOptions(options);
  const binary = compiled.binary ?? (await findRedisServer());
  if (binary === undefined) {
    throw new BinaryNotFoundError("redis-server", "redis-server was not found on PATH, /usr/bin or /usr/sbin");
  }
  const tempDir = compiled.dir === undefined ? await createTempDir("taskqueue-redis-") : undefined;
  const dir = tempDir?.path ?? (compiled.dir as string);
  await mkdir(dir, { recursive: true });
  try {
    return await startOnFreePort(compiled.port, ADDRESS_IN_USE, async (port) => {
      const server = await spawnReadyRedis(binary, port, dir, compiled);
      return new RedisProcessHandle(binary, port, dir, tempDir, compiled, server);
    });
  } catch (error) {
    await tempDir?.remove();
    throw error;
  }
}

class RedisProcessHandle extends ServiceHandle implements RedisProcess {
  readonly url: string;
  readonly socketUrl: string;

  constructor(
    readonly binary: string,
    readonly port: number,
    readonly dir: string,
    tempDir: TempDir | undefined,
    readonly options: CompiledRedisProcessOptions,
    process: ManagedProcess,
  ) {
    super(process, { service: "redis", stopSignal: "SIGTERM", stopTimeoutMs: options.stopTimeoutMs, tempDir });
    this.url = `redis://${LOOPBACK_HOST}:${port}`;
    const socket = socketPath(dir);
    this.socketUrl = socket === undefined ? this.url : `unix://${socket}`;
  }

  protected respawn(): Promise<ManagedProcess> {
    return spawnReadyRedis(this.binary, this.port, this.dir, this.options);
  }
}

async function spawnReadyRedis(
  binary: string,
  port: number,
  dir: string,
  options: CompiledRedisProcessOptions,
): Promise<ManagedProcess> {
  const child = new ManagedProcess({
    name: "redis",
    command: binary,
    args: [
      "--port", String(port),
      "--bind", LOOPBACK_HOST,
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      ...socketArgs(dir),
      "--daemonize", "no",
      "--logfile", "",
      ...options.args,
    ],
    cwd: dir,
  });
  const logger = options.logger?.child({ service: "redis", port });
  if (logger) child.onLine((line) => logger.debug(line));
  try {
    const deadline = Date.now() + options.startTimeoutMs;
    await child.waitForLine(READY_LINE, options.startTimeoutMs);
    // The ready line is printed once the listener is open; PING confirms it really answers.
    while (!(await pingRedis(port, LOOPBACK_HOST, Math.max(100, deadline - Date.now())))) {
      if (!child.running) throw startError(child, `exited (${describeExit(child.exitStatus as ProcessExit)})`);
      if (Date.now() >= deadline) throw startError(child, `no PONG on port ${port} within ${options.startTimeoutMs} ms`);
      await child.waitForExit(20).catch(() => undefined);
    }
    return child;
  } catch (error) {
    await child.stop("SIGKILL", options.stopTimeoutMs);
    throw error;
  }
}

/** Longest unix socket path that every platform accepts (sun_path holds 104–108 bytes). */
const MAX_SOCKET_PATH_BYTES = 100;

/**
 * The unix socket of the server whose folder is `dir` (ioredis reads `unix://PATH` as its
 * path); undefined when the path would be too long for a socket, and the server then listens
 * on TCP only.
 */
function socketPath(dir: string): string | undefined {
  const path = join(dir, "redis.sock");
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES ? path : undefined;
}

function socketArgs(dir: string): string[] {
  const path = socketPath(dir);
  return path === undefined ? [] : ["--unixsocket", path, "--unixsocketperm", "700"];
}

function startError(child: ManagedProcess, message: string): ServiceStartError {
  return new ServiceStartError("redis", message, child.tail());
}
