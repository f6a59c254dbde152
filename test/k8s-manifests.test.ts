import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, inject } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { compileServerOptions, serverOptionsFromEnv } from "../server/config.js";
import { SHUTDOWN_GRACE_MS } from "../server/engine/shutdown-budget.js";
import { createLogger } from "../server/observability/logger.js";
import { serverSettings } from "../server/settings/server-settings.js";
import { findFreePort } from "../tools/local-services/free-port.js";
import { readExampleConfig } from "../worker/example/config.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { repoRoot } from "./support/client-toolchains.js";
import { K8S_TARGETS, renderK8s, type K8sObject, type Rendering } from "./support/k8s-manifests.js";
import { imageCommand } from "../scripts/replay-image.mjs";
import { readTask } from "./support/task-db.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { createTestDatabase, uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/*
 * What kubeconform's schemas cannot check in deploy/k8s (scripts/check-k8s.sh validates the
 * schemas and installs the kustomize used here): in the base and every overlay, the settings
 * are real variables with valid values, probes, ports and Services agree with the server's
 * settings, the grace periods cover the drain, the containers run their images' commands
 * (node as PID 1, compiled JavaScript: the Dockerfile's CMD), and the ScaledObject scales the
 * worker Deployment on its own queues. Then the server runs as the base Deployment runs it (the
 * image's command over `npm run build`'s dist/, its ConfigMap, as a real process): its probes answer, the ScaledObject's queries name series it exports, and a
 * SIGTERM drains a running task and exits within the grace period.
 */

const serverEnvNames = new Set(Object.values(serverSettings).map((setting) => setting.env));
/** How long main.ts lets a shutdown overrun its bound before exiting (WATCHDOG_MARGIN_MS). */
const WATCHDOG_MARGIN_MS = 500;

const renderings = new Map<string, Rendering>();
beforeAll(async () => {
  for (const target of K8S_TARGETS) renderings.set(target, await renderK8s(target));
});

/** The parts of one rendering the checks read. */
function parts(target: string) {
  const r = renderings.get(target)!;
  const server = r.get("Deployment", "taskqueue-server");
  const worker = r.get("Deployment", "taskqueue-worker");
  const serverContainer = server.spec.template.spec.containers[0];
  const workerContainer = worker.spec.template.spec.containers[0];
  const serverConfig: Record<string, string> = r.get("ConfigMap", "taskqueue-server").data;
  const workerConfig: Record<string, string> = r.get("ConfigMap", "taskqueue-worker").data;
  const secret = r.objects.find((o) => o.kind === "Secret" && /^taskqueue-server(-[a-z0-9]{10})?$/.test(o.metadata.name));
  const secretData: Record<string, string> = Object.fromEntries(
    Object.entries((secret?.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  return { r, server, worker, serverContainer, workerContainer, serverConfig, workerConfig, secretData, scaled: r.get("ScaledObject", "taskqueue-worker") };
}

/** A container port's number by name. */
function portNumber(container: K8sObject, name: string): number {
  const port = (container.ports as Array<{ name: string; containerPort: number }>).find((p) => p.name === name);
  if (!port) throw new Error(`container ${container.name} has no port named ${name}`);
  return port.containerPort;
}

/** Seconds the preStop hook waits (`sleep N` or the `sleep` action). */
function preStopSeconds(container: K8sObject): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command as string[] | undefined;
  if (command?.[0] !== "sleep") throw new Error(`unexpected preStop ${JSON.stringify(preStop)}`);
  return Number(command[1]);
}

/** The PromQL selectors of a query: metric name and label matchers. */
function selectors(query: string): Array<{ metric: string; matchers: Array<{ label: string; op: string; value: string }> }> {
  return [...query.matchAll(/\b(taskqueue_[a-z0-9_]+)\s*(?:\{([^}]*)\})?/g)].map((m) => ({
    metric: m[1]!,
    matchers: [...(m[2] ?? "").matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"/g)].map((l) => ({ label: l[1]!, op: l[2]!, value: l[3]! })),
  }));
}

/** True when a PromQL matcher accepts `value` (regexes are anchored, as in PromQL). */
function matcherAccepts(matcher: { op: string; value: string }, value: string): boolean {
  const regex = new RegExp(`^(?:${matcher.value})$`);
  if (matcher.op === "=") return value === matcher.value;
  if (matcher.op === "!=") return value !== matcher.value;
  if (matcher.op === "=~") return regex.test(value);
  return !regex.test(value);
}

function queries(scaled: K8sObject): string[] {
  return (scaled.spec.triggers as Array<{ type: string; metadata: { query: string } }>).map((t) => t.metadata.query);
}

describe.each(K8S_TARGETS)("deploy/k8s/%s", (target) => {
  it("sets only real server and worker variables, with values the server and worker accept", () => {
    const { serverConfig, workerConfig, secretData } = parts(target);
    const serverEnv = { ...serverConfig, ...secretData };
    expect(Object.keys(serverEnv).filter((name) => !serverEnvNames.has(name) && name !== "REDIS_CLUSTER_NODES")).toEqual([]);
    expect(() => compileServerOptions(serverOptionsFromEnv(serverEnv))).not.toThrow();
    const worker = readExampleConfig([], workerConfig);
    expect(worker.queues.length).toBeGreaterThan(0);
  });

  it("probes the server's /healthz and /readyz on its HTTP port, and its Services reach its ports", () => {
    const { r, server, serverContainer, serverConfig, workerConfig } = parts(target);
    const options = compileServerOptions(serverOptionsFromEnv(serverConfig));
    expect(portNumber(serverContainer, "http")).toBe(options.httpPort);
    expect(portNumber(serverContainer, "grpc")).toBe(options.grpcPort);
    for (const probe of ["startupProbe", "livenessProbe"]) expect(serverContainer[probe].httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(serverContainer.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    // The readiness check gives each dependency 2 s: the probe waits longer than that.
    expect(serverContainer.readinessProbe.timeoutSeconds).toBeGreaterThan(2);

    const podLabels = server.spec.template.metadata.labels as Record<string, string>;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    const services = r.objects.filter((o) => o.kind === "Service" && o.metadata.name.startsWith("taskqueue-"));
    expect(services.map((s) => s.metadata.name).sort()).toEqual(["taskqueue-grpc", "taskqueue-grpc-headless", "taskqueue-http"]);
    for (const service of services) {
      expect(selects(service.spec.selector)).toBe(true);
      for (const port of service.spec.ports) portNumber(serverContainer, port.targetPort);
    }
    expect(selects(r.get("PodDisruptionBudget", "taskqueue-server").spec.selector.matchLabels)).toBe(true);
    expect(selects(server.spec.selector.matchLabels)).toBe(true);
    // Workers reach the servers through the gRPC Service.
    const grpc = r.get("Service", "taskqueue-grpc");
    expect(workerConfig.TQ_SERVER).toBe(`${grpc.metadata.name}:${grpc.spec.ports[0].port}`);
  });

  it("gives the server preStop + DRAIN_TIMEOUT_MS + the shutdown's grace, and the worker its stop timeout", () => {
    const { server, worker, serverContainer, serverConfig, workerConfig } = parts(target);
    const { drainTimeoutMs } = compileServerOptions(serverOptionsFromEnv(serverConfig));
    const needMs = preStopSeconds(serverContainer) * 1000 + drainTimeoutMs + SHUTDOWN_GRACE_MS + WATCHDOG_MARGIN_MS;
    expect(server.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(needMs);
    const { stopTimeoutMs } = readExampleConfig([], workerConfig);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(stopTimeoutMs);
  });

  it("runs the images' own commands: compiled JavaScript with node as PID 1 (SIGTERM reaches it)", () => {
    const { serverContainer, workerContainer } = parts(target);
    for (const [container, stage] of [[serverContainer, "server"], [workerContainer, "worker"]] as const) {
      // No override: the Dockerfile's CMD (test/container-image.test.ts runs the images).
      expect(container.command, stage).toBeUndefined();
      expect(container.args, stage).toBeUndefined();
      const command = imageCommand(stage);
      expect(command[0], stage).toBe("node");
      expect(command.at(-1), stage).toMatch(/^dist\/.*\.js$/);
    }
  });

  it("scales the worker Deployment on the queues it serves", () => {
    const { worker, workerConfig, scaled } = parts(target);
    expect(scaled.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: worker.metadata.name });
    expect(worker.spec.replicas).toBeUndefined();
    const { queues } = readExampleConfig([], workerConfig);
    expect(scaled.spec.triggers.map((t: { type: string }) => t.type)).toEqual(["prometheus", "prometheus"]);
    for (const query of queries(scaled)) {
      const queueMatchers = selectors(query).flatMap((s) => s.matchers.filter((m) => m.label === "queue"));
      expect(queueMatchers.length, query).toBeGreaterThan(0);
      for (const matcher of queueMatchers) for (const queue of queues) expect(matcherAccepts(matcher, queue), `${query} / ${queue}`).toBe(true);
    }
  });
});

describe("the server as the base Deployment runs it", () => {
  let child: ChildProcess;
  let output = "";
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let worker: Worker;
  let httpBase: string;
  let grpcAddress: string;
  let databaseUrl: string;
  let base: ReturnType<typeof parts>;

  beforeAll(async () => {
    base = parts("base");
    // The image's dist/, built here as the Dockerfile's build stage does.
    const build = spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: repoRoot, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
    const [grpcPort, httpPort] = [await findFreePort(), await findFreePort()];
    databaseUrl = await createTestDatabase();
    // The ConfigMap as the pod gets it; the Secret's part and the ports point at this run's
    // services, and the queue gauges refresh quickly for the metrics check.
    const env = {
      ...process.env,
      ...base.serverConfig,
      DATABASE_URL: databaseUrl,
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `${uniqueQueue("tq-k8s")}:`,
      HOST: "127.0.0.1",
      GRPC_PORT: String(grpcPort),
      HTTP_PORT: String(httpPort),
      METRICS_REFRESH_MS: "100",
    };
    const [command, ...args] = (base.serverContainer.command as string[] | undefined) ?? imageCommand("server");
    child = spawn(command!, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    httpBase = `http://127.0.0.1:${httpPort}`;
    grpcAddress = `127.0.0.1:${grpcPort}`;
    const readiness = base.serverContainer.readinessProbe.httpGet.path as string;
    await waitFor(async () => child.exitCode === null && (await fetch(`${httpBase}${readiness}`)).status === 200, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: "the server to be ready",
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${output.slice(-3000)}`);
    });
    const { queues, concurrency } = readExampleConfig([], base.workerConfig);
    worker = createWorker({ address: grpcAddress, queues, concurrency, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await worker.start();
  });

  afterAll(async () => {
    await worker?.stop({ timeoutMs: 2_000 });
    if (child?.exitCode === null) child.kill("SIGKILL");
  });

  it("answers the liveness and readiness probes", async () => {
    for (const probe of ["livenessProbe", "readinessProbe"]) {
      const res = await fetch(`${httpBase}${base.serverContainer[probe].httpGet.path}`);
      expect(res.status, probe).toBe(200);
    }
  });

  it("exports the series the ScaledObject's queries select", async () => {
    const client = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcAddress}` }));
    const [queue] = readExampleConfig([], base.workerConfig).queues;
    const done = await client.submitTask({ queue, type: "echo", payloadData: jsonPayload({ n: 1 }) });
    await waitForState(client, done.task!.id, TaskState.SUCCEEDED);
    const wanted = queries(base.scaled).flatMap(selectors);
    expect(wanted.map((s) => s.metric).sort()).toEqual(["taskqueue_queue_oldest_task_age_seconds", "taskqueue_queue_tasks"]);
    await waitFor(
      async () => {
        const text = await (await fetch(`${httpBase}/metrics`)).text();
        return wanted.every(({ metric, matchers }) => {
          const series = [...text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} `, "gm"))].map((m) =>
            Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
          );
          // Each matcher (queue=~…, state=~…) selects at least one series of the metric.
          return series.length > 0 && matchers.every((matcher) => series.some((labels) => matcherAccepts(matcher, labels[matcher.label] ?? "")));
        });
      },
      { timeoutMs: 10_000, intervalMs: 100, message: `series for ${JSON.stringify(wanted)} at /metrics` },
    );
  });

  it("on SIGTERM reports draining, finishes the running task and exits within the grace period", async () => {
    const client = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${grpcAddress}` }));
    const [queue] = readExampleConfig([], base.workerConfig).queues;
    const running = await client.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 3_000 }) });
    await waitForState(client, running.task!.id, TaskState.RUNNING);
    const startedAt = Date.now();
    child.kill("SIGTERM");
    const readiness = `${httpBase}${base.serverContainer.readinessProbe.httpGet.path}`;
    const draining = await waitFor(
      async () => {
        const res = await fetch(readiness);
        return res.status === 503 ? ((await res.json()) as { checks: Record<string, string> }) : undefined;
      },
      { timeoutMs: 5_000, intervalMs: 20, message: "/readyz to answer 503 while draining" },
    );
    expect(draining.checks.server).toBe("draining");
    const exit = await exited;
    const tookMs = Date.now() - startedAt;
    expect(exit, output.slice(-3000)).toEqual({ code: 0, signal: null });
    // The kubelet sends SIGTERM after the preStop pause: the rest of the grace period is the
    // server's, and the bound of its shutdown fits in it.
    const graceLeftMs = (base.server.spec.template.spec.terminationGracePeriodSeconds - preStopSeconds(base.serverContainer)) * 1000;
    const { drainTimeoutMs } = compileServerOptions(serverOptionsFromEnv(base.serverConfig));
    expect(tookMs).toBeLessThan(Math.min(graceLeftMs, drainTimeoutMs + SHUTDOWN_GRACE_MS + WATCHDOG_MARGIN_MS));
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    try {
      expect((await readTask(pool, running.task!.id))?.state).toBe("SUCCEEDED");
    } finally {
      await pool.end();
    }
  });
});
