import type { Writable } from "node:stream";
import { devChildEnvironments } from "./child-environments.js";
import type { CompiledDevStackOptions } from "./dev-options.js";
import { startDevServices, type DevServices } from "./dev-services.js";
import { describeExit, ManagedProcess } from "../local-services/managed-process.js";

/** Where the dev stack writes: its own lines and the children's prefixed output. */
export interface DevStackIo {
  /** Receives `[dev]` lines and the children's stdout. */
  stdout: Writable;
  /** Receives the children's stderr. */
  stderr: Writable;
}

/** The running dev stack: services plus the server and example worker processes. */
export interface DevStack {
  /** The Postgres and Redis in use. */
  readonly services: DevServices;
  /** Child processes by name (`server`, `worker`). */
  readonly children: ReadonlyMap<string, ManagedProcess>;
  /** Resolves, once everything is stopped, with the exit code: 0 after `stop()`, 1 after a failure. */
  readonly done: Promise<number>;
  /** Stops the children (SIGTERM, SIGKILL after the deadline), then Redis and PGlite. Idempotent. */
  stop(reason: string): Promise<number>;
}

/**
 * Brings up the local stack: Postgres and Redis ({@link startDevServices}), then the server and
 * the example worker as `node --import tsx <entry>` children, their output prefixed with
 * `[server]` / `[worker]`. Each child is handed the stack's own addresses
 * ({@link devChildEnvironments}): the server its databases and ports, the worker the server's
 * address. If a child exits on its own, the rest is stopped and `done`
 * resolves 1.
 */
export async function startDevStack(
  options: CompiledDevStackOptions,
  io: DevStackIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<DevStack> {
  const say = (line: string): void => void io.stdout.write(`[dev] ${line}\n`);
  const services = await startDevServices(options);
  const envs = devChildEnvironments(options, services);
  const children = new Map<string, ManagedProcess>();
  let exitCode = 0;
  let stopping: Promise<number> | undefined;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));

  const stop = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      say(`stopping (${reason})`);
      const results = await Promise.allSettled([...children.values()].map((child) => child.stop("SIGTERM", options.stopTimeoutMs)));
      const servicesStopped = await services.stop().then(() => undefined, (error: unknown) => error);
      for (const failure of [...results.flatMap((r) => (r.status === "rejected" ? [r.reason] : [])), servicesStopped]) {
        if (failure === undefined) continue;
        exitCode = 1;
        io.stderr.write(`[dev] stop failed: ${(failure as Error).message ?? String(failure)}\n`);
      }
      say(`stopped (exit code ${exitCode})`);
      resolveDone(exitCode);
      return exitCode;
    })();
    return stopping;
  };

  const launch = (name: "server" | "worker", entry: string): ManagedProcess => {
    const child = new ManagedProcess({
      name,
      command: process.execPath,
      // The server loads its tracing register module first, as `npm run server` does (it only
      // reads the environment unless OTEL_* variables turn tracing on).
      args: name === "server" ? ["--import", "tsx", "--import", "./server/observability/tracing-register.ts", entry] : ["--import", "tsx", entry],
      cwd: options.rootDir,
      env: envs[name],
    });
    children.set(name, child);
    child.onLine((line, stream) => void (stream === "stdout" ? io.stdout : io.stderr).write(`[${name}] ${line}\n`));
    void child.exited.then((exit) => {
      if (stopping !== undefined) return;
      exitCode = 1;
      io.stderr.write(`[dev] ${name} exited unexpectedly (${describeExit(exit)}); stopping the rest\n`);
      void stop(`${name} exited`);
    });
    return child;
  };

  // The worker starts once the server listens, so it connects at the first try.
  const server = launch("server", options.serverEntry);
  await server.waitForLine(/taskqueue server listening/, 60_000).catch(() => undefined);
  if (stopping === undefined) launch("worker", options.workerEntry);

  say("taskqueue dev stack");
  say(`  gRPC      localhost:${options.grpcPort}`);
  say(`  HTTP      http://localhost:${options.httpPort}  (Connect, gRPC-Web, JSON, /metrics, /healthz, /readyz)`);
  say(`  dashboard http://localhost:${options.httpPort}/  (built by npm install; rebuild: npm run build:web)`);
  for (const line of services.descriptions) say(`  ${line}`);
  for (const [name, child] of children) say(`  ${name.padEnd(8)}  pid ${child.pid}`);
  say(
    options.env.TQ_ADMIN_TOKEN
      ? "  auth      API tokens required: the example worker presents TQ_ADMIN_TOKEN; tq: TQ_TOKEN=$TQ_ADMIN_TOKEN npx tq …"
      : "  auth      loopback clients only, no token; to require tokens: TQ_ADMIN_TOKEN=$(openssl rand -base64 32) npm run dev, then TQ_TOKEN=<it> npx tq token create --role producer --queue 'emails*'",
  );
  say("Ctrl-C stops everything.");

  return { services, children, done, stop };
}
