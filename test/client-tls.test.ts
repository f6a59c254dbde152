import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createTaskClient, TaskClientOptionsError } from "../clients/ts/index.js";
import { createWorker } from "../worker/index.js";
import { runTq } from "./support/cli.js";
import { buildGoExamples, clientToolchains } from "./support/client-toolchains.js";
import { runProducer, startExampleWorker, type ClientPrograms, type WorkerLanguage } from "./support/client-programs.js";
import type { ExampleProcess } from "./support/example-process.js";
import { makeTestCertificates, type TestCertificates } from "./support/test-certificates.js";
import { startTestServer, uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";
import { createLogger } from "../server/observability/logger.js";
import type { ServerOptions } from "../server/settings/server-options.js";

/**
 * Every client against a server with mutual TLS and API tokens required: the TypeScript
 * client and worker SDK (options and environment), `tq` (--tls-ca, --tls-cert, --tls-key,
 * --insecure-skip-verify, and the TQ_TLS_* environment), and the Go and Python SDKs' example
 * programs, which read TQ_TLS_CA/TQ_TLS_CERT/TQ_TLS_KEY and TQ_TOKEN.
 */

const ADMIN_TOKEN = "client-tls-admin-token-0123456789";
let certs: TestCertificates;
let server: Awaited<ReturnType<typeof startTestServer>>;
let address: string;
const started: ExampleProcess[] = [];

beforeAll(async () => {
  certs = makeTestCertificates();
  const options: ServerOptions = {
    tlsCertFile: certs.file("server.pem"),
    tlsKeyFile: certs.file("server.key"),
    tlsClientCaFile: certs.file("ca.pem"),
    adminToken: ADMIN_TOKEN,
  };
  server = await startTestServer(options);
  address = `127.0.0.1:${server.server.grpcPort}`;
}, 60_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(5_000)));
});

afterAll(async () => {
  await server?.stop();
  certs?.remove();
});

/** The mutual-TLS environment of the SDKs and tq. */
function tlsEnv(): Record<string, string> {
  return { TQ_TLS_CA: certs.file("ca.pem"), TQ_TLS_CERT: certs.file("client.pem"), TQ_TLS_KEY: certs.file("client.key"), TQ_TOKEN: ADMIN_TOKEN };
}

describe("TypeScript client and worker SDK", () => {
  it("connect with the tls option (files or PEM) and a token, and fail without the client certificate or the CA", async () => {
    const queue = uniqueQueue("ts-tls");
    const tls = { caFile: certs.file("ca.pem"), cert: certs.pem("client.pem"), key: certs.pem("client.key") };
    const client = createTaskClient({ address, token: ADMIN_TOKEN, tls });
    const worker = createWorker({ address, token: ADMIN_TOKEN, tls, queues: [queue], handlers: { echo: (task) => task.payload }, logger: createLogger({ name: "w", level: "silent" }) });
    try {
      await worker.start();
      const { task } = await client.submitTask({ queue, type: "echo", payload: { over: "tls" } });
      const done = await waitFor(async () => ((await client.getTask(task.id)).task.state === TaskState.SUCCEEDED ? true : undefined), {
        timeoutMs: 20_000,
        message: "the task to succeed",
      });
      expect(done).toBe(true);
    } finally {
      await worker.stop();
      client.close();
    }
    const noCert = createTaskClient({ address, token: ADMIN_TOKEN, tls: { caFile: certs.file("ca.pem") }, timeoutMs: 10_000 });
    await expect(noCert.getTask("01a205ec-8a0f-793c-8ef0-00536f20972a")).rejects.toThrow();
    noCert.close();
    const noCa = createTaskClient({ address, token: ADMIN_TOKEN, tls: { cert: certs.pem("client.pem"), key: certs.pem("client.key") }, timeoutMs: 10_000 });
    await expect(noCa.getTask("01a205ec-8a0f-793c-8ef0-00536f20972a")).rejects.toThrow(/certificate/i);
    noCa.close();
    expect(() => createTaskClient({ address, tls: { certFile: certs.file("client.pem") } })).toThrow(TaskClientOptionsError);
    expect(() => createTaskClient({ address: `http://${address}`, tls: { caFile: certs.file("ca.pem") } })).toThrow(/says http/);
    expect(() => createTaskClient({ address, tls: { caFile: join(certs.dir, "missing.pem") } })).toThrow(/tls\.caFile: cannot read/);
  }, 60_000);
});

describe("tq", () => {
  it("talks TLS with --tls-ca/--tls-cert/--tls-key or the environment, and --insecure-skip-verify skips the check", async () => {
    const queue = uniqueQueue("cli-tls");
    const base = { server: address, env: { TQ_TOKEN: ADMIN_TOKEN, TQ_TLS_CA: "", TQ_TLS_CERT: "", TQ_TLS_KEY: "" } };
    const flags = ["--tls-ca", certs.file("ca.pem"), "--tls-cert", certs.file("client.pem"), "--tls-key", certs.file("client.key")];
    const submitted = await runTq([...flags, "--json", "task", "submit", "t", "--queue", queue], base);
    expect(submitted.code, submitted.stderr).toBe(0);
    const byEnv = await runTq(["--json", "task", "list", "--queue", queue], { server: address, env: tlsEnv() });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    expect(byEnv.stdout).toContain(queue);
    const skip = ["--insecure-skip-verify", "--tls-cert", certs.file("client.pem"), "--tls-key", certs.file("client.key")];
    const skipped = await runTq([...skip, "--json", "task", "list", "--queue", queue], base);
    expect(skipped.code, skipped.stderr).toBe(0);
    const untrusted = await runTq(["--tls-cert", certs.file("client.pem"), "--tls-key", certs.file("client.key"), "task", "list", "--queue", queue], base);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/cannot reach 127\.0\.0\.1:\d+: the server's certificate is not signed by a CA this client trusts: give its CA with --tls-ca/);
    const noCert = await runTq(["--tls-ca", certs.file("ca.pem"), "task", "list", "--queue", queue], base);
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(/the server requires a client certificate: give --tls-cert and --tls-key/);
    const help = await runTq(["--help"], base);
    expect(help.stdout).toMatch(/--insecure-skip-verify\s+UNSAFE/);
  }, 60_000);
});

describe("Go and Python SDKs", () => {
  let programs: ClientPrograms;
  let buildDir: string;
  beforeAll(async () => {
    const toolchains = await clientToolchains();
    buildDir = await mkdtemp(join(tmpdir(), "tq-go-examples-"));
    const go = await buildGoExamples(toolchains, buildDir);
    programs = { toolchains: { ...toolchains, env: { ...toolchains.env, ...tlsEnv() } }, go };
  }, 300_000);
  afterAll(async () => {
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  });

  for (const [producer, workerLanguage] of [["go", "python"], ["python", "go"], ["go", "ts"]] as const) {
    it(`a ${producer} producer and a ${workerLanguage} worker over mutual TLS with TQ_TOKEN from the environment`, async () => {
      const queue = uniqueQueue(`${producer}-${workerLanguage}-tls`);
      const worker = startExampleWorker(programs, workerLanguage as WorkerLanguage, { server: address, queue, workerId: `${workerLanguage}-tls` });
      started.push(worker);
      await worker.waitForEvent((e) => e.event === "connected", "its welcome", 30_000);
      const run = await runProducer(programs, producer, "submit", { server: address, queue, type: "echo", payload: '{"tls":true}', wait: true });
      expect(run.code, run.stderr).toBe(0);
      expect(run.lines[0]).toMatchObject({ state: "SUCCEEDED", result: { tls: true } });
      // Without the token, the server refuses the same program.
      const anonymous = await runProducer({ ...programs, toolchains: { ...programs.toolchains, env: { ...programs.toolchains.env, TQ_TOKEN: "" } } }, producer, "get", {
        server: address,
        id: "01a205ec-8a0f-793c-8ef0-00536f20972a",
      });
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toMatch(/unauthenticated|missing API token/i);
    }, 90_000);
  }
});

