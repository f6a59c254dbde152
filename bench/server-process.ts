import { get as httpGet } from "node:http";
import { get as httpsGet } from "node:https";
import { mkdir } from "node:fs/promises";
import { findFreePort, LOOPBACK_HOST } from "../tools/local-services/free-port.js";
import { describeExit, ManagedProcess, type ProcessExit } from "../tools/local-services/managed-process.js";
import { BenchTimeoutError, ChildProcessError } from "./errors.js";
import { REPO_ROOT } from "./paths.js";

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  databaseUrl: string;
  redisUrl: string;
  /** Extra environment (the server's knobs). */
  env?: Record<string, string>;
  /** Extra Node.js flags, after the server's own (a later flag wins). */
  nodeArgs?: string[];
  /** Run under `node --cpu-prof`, writing the profile into this folder on exit. */
  cpuProfDir?: string;
  /** LOG_LEVEL of the server. Default warn. */
  logLevel?: string;
  /** Deadline for the server to report ready on /readyz. Default 60 s. */
  startTimeoutMs?: number;
  /** Deadline for a graceful stop before SIGKILL. Default 30 s. */
  stopTimeoutMs?: number;
  /** Receives the server's output lines (its warnings and errors), verbatim. Default: stderr, prefixed. */
  onLine?: (line: string) => void;
}

/** The taskqueue server running as a child process (`node --import tsx server/main.ts`). */
export interface ServerProcess {
  /** Process id of the server's node process. */
  readonly pid: number;
  /** `127.0.0.1:PORT` of the gRPC server. */
  readonly grpcAddress: string;
  /** `http://127.0.0.1:PORT` of the HTTP gateway. */
  readonly httpUrl: string;
  /** Lines the server has printed so far (at LOG_LEVEL=warn: its warnings and errors). */
  warnings(): number;
  /** Graceful stop (SIGTERM: drain, then exit; SIGKILL after the deadline). */
  stop(): Promise<ProcessExit>;
}

/** Starts the server on free ports and resolves once `/readyz` answers 200. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const grpcPort = await findFreePort();
  const httpPort = await findFreePort();
  const profiling = options.cpuProfDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", options.cpuProfDir];
  if (options.cpuProfDir !== undefined) await mkdir(options.cpuProfDir, { recursive: true });
  const child = new ManagedProcess({
    name: "server",
    command: process.execPath,
    // As `npm run server` runs it: a larger young generation (README, "Running in production").
    // As `npm run server`: the tracing register module (it only reads OTEL_* when tracing is off).
    args: [
      ...profiling,
      "--max-semi-space-size=64",
      ...(options.nodeArgs ?? []),
      "--import",
      "tsx",
      "--import",
      "./server/observability/tracing-register.ts",
      "server/main.ts",
    ],
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      HOST: LOOPBACK_HOST,
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      LOG_LEVEL: options.logLevel ?? "warn",
      // --concurrency allows workers of up to 10000 slots (the default cap is 1000).
      MAX_WORKER_CAPACITY: "10000",
      ...options.env,
    },
  });
  const print = options.onLine ?? ((line: string) => process.stderr.write(`[server] ${line}\n`));
  let warnings = 0;
  child.onLine((line) => {
    warnings++;
    print(line);
  });
  // With TLS_CERT_FILE in the server's environment both ports serve TLS (the clients of the
  // run then need TQ_TLS_CA in theirs).
  const tls = (options.env?.TLS_CERT_FILE ?? "") !== "";
  const httpUrl = `${tls ? "https" : "http"}://${LOOPBACK_HOST}:${httpPort}`;
  try {
    await waitUntilReady(child, httpUrl, options.startTimeoutMs ?? 60_000);
  } catch (error) {
    await child.stop("SIGKILL");
    throw error;
  }
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  return {
    pid: child.pid,
    grpcAddress: `${LOOPBACK_HOST}:${grpcPort}`,
    httpUrl,
    warnings: () => warnings,
    stop: () => child.stop("SIGTERM", stopTimeoutMs),
  };
}

/**
 * Probes `/readyz` until it answers 200, re-trying while the server starts (connection
 * refused, 503) and reacting at once if the process exits; fails at the deadline.
 */
async function waitUntilReady(child: ManagedProcess, httpUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!child.running) {
      throw new ChildProcessError(`server exited before ready (${describeExit(child.exitStatus!)}):\n${child.tail().join("\n")}`);
    }
    const ok = await probe(`${httpUrl}/readyz`);
    if (ok) return;
    if (Date.now() >= deadline) throw new BenchTimeoutError("the server's /readyz", timeoutMs);
    // Pause between probes, cut short if the process exits.
    await child.waitForExit(50).catch(() => undefined);
  }
}

/** Whether `url` answers 200 within 2 s (https: the probe reaches our own child, its certificate is not checked). */
function probe(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const get = url.startsWith("https:") ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}
