import { spawn, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { load } from "js-yaml";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { imageCommand } from "../scripts/replay-image.mjs";
import { SHUTDOWN_GRACE_MS } from "../server/engine/shutdown-budget.js";
import { compileServerOptions, serverOptionsFromEnv } from "../server/config.js";
import { findFreePort } from "../tools/local-services/free-port.js";
import { readExampleConfig } from "../worker/example/config.js";
import { repoRoot } from "./support/client-toolchains.js";
import { readTask } from "./support/task-db.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/*
 * The container images without a Docker engine: scripts/replay-image.mjs carries out the
 * Dockerfile's own instructions in a temporary directory (npm 10.8.2 as in node:20, a fresh
 * npm cache, only what the Dockerfile COPYs), then the server and worker images' CMDs start
 * here as the image's USER would run them (uid 1000 when the tests run as root), over real
 * Redis and Postgres: the runtime holds compiled JavaScript and production dependencies only,
 * /readyz answers 200, the dashboard is served, a SIGTERM to the worker finishes the task it
 * holds and a SIGTERM to the server drains it (node is PID 1 in the image: the signal reaches it).
 */

interface Stage {
  name: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  user: string;
  cmd?: string[];
}

/** The uid:gid of the base image's users. */
const IMAGE_USERS: Record<string, [number, number]> = { node: [1000, 1000], root: [0, 0] };

/** A started image: its process, output and exit. */
class ImageProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output = "";

  constructor(stage: Stage, env: Record<string, string>) {
    const [command, ...args] = stage.cmd!;
    const ids = IMAGE_USERS[stage.user];
    if (!ids) throw new Error(`unknown image user ${stage.user}`);
    // As root, drop to the image's user the way the container runtime does (setpriv execs
    // node: the child's pid is node's, as PID 1 in the container); as anyone else, run as is.
    const argv =
      process.getuid?.() === 0 ? ["setpriv", `--reuid=${ids[0]}`, `--regid=${ids[1]}`, "--clear-groups", "--", command!, ...args] : [command!, ...args];
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: stage.dir,
      // The image's environment, not the test runner's (no tsx loader, no dev settings).
      env: { PATH: process.env.PATH!, HOME: "/nonexistent", ...stage.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (d) => (this.output += d));
    this.child.stderr!.on("data", (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  tail(): string {
    return this.output.slice(-3000);
  }
}

let outDir: string;
let stages: Record<string, Stage>;
let server: ImageProcess;
const workers: ImageProcess[] = [];
let httpBase: string;
let grpcAddress: string;
let databaseUrl: string;
let client: ReturnType<typeof createClient<typeof TaskService>>;
/** An OTLP/HTTP (JSON) receiver standing in for a collector: the spans' instrumentation scope and name. */
let collector: Server;
const receivedSpans: Array<{ scope: string; name: string }> = [];

function startWorker(queue: string): ImageProcess {
  const worker = new ImageProcess(stages.worker!, { TQ_SERVER: grpcAddress, TQ_QUEUES: queue, TQ_CONCURRENCY: "2", TQ_STOP_TIMEOUT_MS: "15000" });
  workers.push(worker);
  return worker;
}

async function taskRowState(id: string): Promise<string | undefined> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    return (await readTask(pool, id))?.state;
  } finally {
    await pool.end();
  }
}

beforeAll(async () => {
  outDir = mkdtempSync(path.join(tmpdir(), "tq-image-"));
  const replay = spawn(process.execPath, ["scripts/replay-image.mjs", outDir], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  replay.stdout.on("data", (d) => (log += d));
  replay.stderr.on("data", (d) => (log += d));
  const code = await new Promise<number | null>((resolve) => replay.once("exit", resolve));
  if (code !== 0) throw new Error(`replaying the Dockerfile failed (${code}):\n${log.slice(-4000)}`);
  stages = JSON.parse(readFileSync(path.join(outDir, "image.json"), "utf8"));

  collector = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      try {
        for (const rs of JSON.parse(body).resourceSpans ?? [])
          for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) receivedSpans.push({ scope: ss.scope?.name, name: span.name });
      } catch {
        // not a trace export
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
  const collectorPort = (collector.address() as { port: number }).port;

  const [grpcPort, httpPort] = [await findFreePort(), await findFreePort()];
  databaseUrl = await createTestDatabase();
  httpBase = `http://127.0.0.1:${httpPort}`;
  grpcAddress = `127.0.0.1:${grpcPort}`;
  server = new ImageProcess(stages.server!, {
    DATABASE_URL: databaseUrl,
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `${uniqueQueue("tq-image")}:`,
    HOST: "127.0.0.1",
    GRPC_PORT: String(grpcPort),
    HTTP_PORT: String(httpPort),
    // Tracing on, as docker-compose.yml runs it: the register module's loader hook must work compiled.
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorPort}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });
  await waitFor(async () => server.child.exitCode === null && (await fetch(`${httpBase}/readyz`)).status === 200, {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: "the replayed server image to be ready",
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${server.tail()}`);
  });
  client = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcAddress}` }));
}, 300_000);

afterAll(async () => {
  for (const p of [server, ...workers]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  collector?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe("the container images, replayed from the Dockerfile", () => {
  it("run compiled JavaScript with node as PID 1, as a non-root user, over production dependencies only", () => {
    for (const name of ["server", "worker"]) {
      const stage = stages[name]!;
      expect(stage.user, name).not.toBe("root");
      expect(stage.cmd?.[0], name).toBe("node");
      // Every file the command names exists and is compiled JavaScript.
      for (const arg of stage.cmd!.slice(1).filter((a) => !a.startsWith("-"))) {
        expect(arg, name).toMatch(/\.js$/);
        expect(existsSync(path.join(stage.dir, arg)), `${name}: ${arg}`).toBe(true);
      }
    }
    const dir = stages.server!.dir;
    // Every installed package, nested ones included, by name.
    const modules = readdirSync(path.join(dir, "node_modules"), { recursive: true, encoding: "utf8" })
      .filter((m) => /(^|\/node_modules\/)(@[^/]+\/)?[^/@.][^/]*$/.test(m) && existsSync(path.join(dir, "node_modules", m, "package.json")))
      .map((m) => m.split("node_modules/").at(-1)!);
    expect(modules).toContain("@grpc/grpc-js");
    for (const dev of ["typescript", "tsx", "vitest", "esbuild", "dependency-cruiser", "@electric-sql/pglite"]) expect(modules, dev).not.toContain(dev);
    expect(readdirSync(path.join(dir, "dist"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))).toEqual([]);
    // No sources beside the compiled program.
    for (const source of ["server", "wire", "gen", "worker", "tsconfig.json"]) expect(existsSync(path.join(dir, source)), source).toBe(false);
  });

  it("answers /readyz 200 and serves the dashboard", async () => {
    expect((await fetch(`${httpBase}/readyz`)).status).toBe(200);
    const page = await fetch(`${httpBase}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
  });

  it("traces gRPC calls with the instrumentation its register module loads (tracing works compiled)", async () => {
    await client.submitTask({ queue: uniqueQueue("img-t"), type: "echo", payloadData: jsonPayload({ n: 1 }) });
    await waitFor(() => receivedSpans.some((s) => s.scope === "@opentelemetry/instrumentation-grpc" && s.name.endsWith("TaskService/SubmitTask")), {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: `a gRPC SubmitTask span from @opentelemetry/instrumentation-grpc (received: ${JSON.stringify(receivedSpans.slice(0, 5))})`,
    });
  });

  it("the worker image runs tasks; on SIGTERM it finishes the one it holds and exits 0", async () => {
    const queue = uniqueQueue("img-w");
    const worker = startWorker(queue);
    const echo = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload({ n: 1 }) });
    await waitForState(client, echo.task!.id, TaskState.SUCCEEDED);
    const held = await client.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 1_500 }) });
    await waitForState(client, held.task!.id, TaskState.RUNNING);
    worker.child.kill("SIGTERM");
    expect(await worker.exited, worker.tail()).toEqual({ code: 0, signal: null });
    expect(await taskRowState(held.task!.id)).toBe("SUCCEEDED");
  });

  it("on SIGTERM the server reports draining, lets the worker finish its task and exits 0", async () => {
    const queue = uniqueQueue("img-s");
    startWorker(queue);
    const held = await client.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 2_000 }) });
    await waitForState(client, held.task!.id, TaskState.RUNNING);
    server.child.kill("SIGTERM");
    const draining = await waitFor(
      async () => {
        const res = await fetch(`${httpBase}/readyz`);
        return res.status === 503 ? ((await res.json()) as { checks: Record<string, string> }) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20, message: "/readyz to answer 503 while draining" },
    );
    expect(draining.checks.server).toBe("draining");
    expect(await server.exited, server.tail()).toEqual({ code: 0, signal: null });
    expect(await taskRowState(held.task!.id)).toBe("SUCCEEDED");
  });

  it("docker-compose.yml runs the images' own commands and gives each a stop grace period above its drain", () => {
    const compose = load(readFileSync(path.join(repoRoot, "docker-compose.yml"), "utf8")) as {
      services: Record<string, { build?: { target?: string }; command?: string[]; stop_grace_period?: string; environment?: Record<string, string> }>;
    };
    const seconds = (value: string | undefined) => Number(/^(\d+)s$/.exec(value ?? "")?.[1] ?? 10); // Docker's default: 10 s
    const needMs = {
      server: compileServerOptions(serverOptionsFromEnv(compose.services.server!.environment ?? {})).drainTimeoutMs + SHUTDOWN_GRACE_MS,
      worker: readExampleConfig([], compose.services.worker!.environment ?? {}).stopTimeoutMs,
    };
    for (const name of ["server", "worker"] as const) {
      const service = compose.services[name]!;
      expect(service.build?.target, name).toBe(name);
      expect(service.command ?? imageCommand(name), name).toEqual(stages[name]!.cmd);
      expect(seconds(service.stop_grace_period) * 1000, name).toBeGreaterThan(needMs[name]);
    }
  });
});
