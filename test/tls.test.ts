import { copyFileSync } from "node:fs";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { makeTestCertificates, type TestCertificates } from "./support/test-certificates.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/** TLS and mutual TLS on both ports, with certificates made by openssl for the test. */

let certs: TestCertificates;
const file = (name: string) => certs.file(name);
const pem = (name: string) => certs.pem(name);

async function failure(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

beforeAll(() => {
  certs = makeTestCertificates();
});

afterAll(() => {
  certs?.remove();
});

describe("TLS", () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ tlsCertFile: file("server.pem"), tlsKeyFile: file("server.key") });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it("serves gRPC, and Connect over HTTP/1.1 and HTTP/2 on the gateway, to clients trusting the CA only", async () => {
    const ca = pem("ca.pem");
    const queue = uniqueQueue("tls");
    const grpc = createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${ts.server.grpcPort}`, nodeOptions: { ca } }));
    const { task } = await grpc.submitTask({ queue, type: "t" });
    const http1 = createClient(TaskService, createConnectTransport({ baseUrl: `https://127.0.0.1:${ts.server.httpPort}`, httpVersion: "1.1", nodeOptions: { ca } }));
    expect((await http1.getTask({ id: task!.id })).task?.queue).toBe(queue);
    const h2 = createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${ts.server.httpPort}`, nodeOptions: { ca } }));
    expect((await h2.getTask({ id: task!.id })).task?.queue).toBe(queue);
    // A client that does not trust the CA refuses the server; plaintext is not served.
    const untrusting = createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${ts.server.grpcPort}` }));
    const untrusted = await failure(untrusting.getTask({ id: task!.id }));
    expect(untrusted?.message).toMatch(/certificate/i);
    const plaintext = createClient(TaskService, createConnectTransport({ baseUrl: `http://127.0.0.1:${ts.server.httpPort}`, httpVersion: "1.1" }));
    expect(await failure(plaintext.getTask({ id: task!.id }))).toBeInstanceOf(ConnectError);
  });
});

describe("mutual TLS", () => {
  let ts: TestServer;
  beforeAll(async () => {
    ts = await startTestServer({ tlsCertFile: file("server.pem"), tlsKeyFile: file("server.key"), tlsClientCaFile: file("ca.pem") });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it("requires a client certificate signed by TLS_CLIENT_CA_FILE on both ports", async () => {
    const ca = pem("ca.pem");
    const withCert = { ca, cert: pem("client.pem"), key: pem("client.key") };
    for (const port of [ts.server.grpcPort, ts.server.httpPort]) {
      const ok = createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions: withCert }));
      await ok.listTasks({ queue: "q" });
      const without = createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions: { ca } }));
      expect(await failure(without.listTasks({ queue: "q" }))).toBeInstanceOf(ConnectError);
    }
    const http1 = createClient(TaskService, createConnectTransport({ baseUrl: `https://127.0.0.1:${ts.server.httpPort}`, httpVersion: "1.1", nodeOptions: withCert }));
    await http1.listTasks({ queue: "q" });
  });
});

describe("certificate reload", () => {
  let ts: TestServer;
  beforeAll(async () => {
    certs.makeCa("ca2");
    certs.issue("server2", { server: true, cn: "127.0.0.1", ca: "ca2" });
    copyFileSync(file("server.pem"), file("live.pem"));
    copyFileSync(file("server.key"), file("live.key"));
    ts = await startTestServer({ tlsCertFile: file("live.pem"), tlsKeyFile: file("live.key"), tlsReloadIntervalMs: 50 });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  /** A client on a connection of its own to `port`, trusting only the CA `ca`. */
  const clientOn = (port: number, ca: string) =>
    createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions: { ca: pem(`${ca}.pem`) } }));

  it("serves a replaced certificate to new connections on both ports while open ones carry on, and keeps the old one when the new files do not match", async () => {
    const queue = uniqueQueue("reload");
    const ports = [ts.server.grpcPort, ts.server.httpPort];
    const open = ports.map((port) => clientOn(port, "ca"));
    for (const client of open) await client.listTasks({ queue });

    // A key that does not match the certificate (half-written renewal): the old pair stays in force.
    copyFileSync(file("server2.key"), file("live.key"));
    await waitFor(async () => ((await failure(clientOn(ts.server.grpcPort, "ca").listTasks({ queue }))) === undefined ? true : undefined), {
      timeoutMs: 5_000,
      message: "the old certificate to be served",
    });
    copyFileSync(file("server2.pem"), file("live.pem"));
    for (const port of ports) {
      await waitFor(async () => ((await failure(clientOn(port, "ca2").listTasks({ queue }))) === undefined ? true : undefined), {
        timeoutMs: 10_000,
        message: `port ${port} to serve the new certificate`,
      });
      expect((await failure(clientOn(port, "ca").listTasks({ queue })))?.message).toMatch(/certificate/i);
    }
    // Connections opened before the change are still served.
    for (const client of open) await client.listTasks({ queue });
  }, 60_000);
});

describe("client CA reload", () => {
  let ts: TestServer;
  beforeAll(async () => {
    certs.makeCa("ca3");
    certs.issue("client3", { ca: "ca3" });
    copyFileSync(file("ca.pem"), file("live-client-ca.pem"));
    ts = await startTestServer({ tlsCertFile: file("server.pem"), tlsKeyFile: file("server.key"), tlsClientCaFile: file("live-client-ca.pem"), tlsReloadIntervalMs: 50 });
  });
  afterAll(async () => {
    await ts?.stop();
  });

  it("accepts client certificates of a new TLS_CLIENT_CA_FILE on both ports without a restart", async () => {
    const withClient = (port: number, name: string) =>
      createClient(TaskService, createGrpcTransport({ baseUrl: `https://127.0.0.1:${port}`, nodeOptions: { ca: pem("ca.pem"), cert: pem(`${name}.pem`), key: pem(`${name}.key`) } }));
    for (const port of [ts.server.grpcPort, ts.server.httpPort]) {
      await withClient(port, "client").listTasks({ queue: "q" });
      expect(await failure(withClient(port, "client3").listTasks({ queue: "q" }))).toBeInstanceOf(ConnectError);
    }
    copyFileSync(file("ca3.pem"), file("live-client-ca.pem"));
    for (const port of [ts.server.grpcPort, ts.server.httpPort]) {
      await waitFor(async () => ((await failure(withClient(port, "client3").listTasks({ queue: "q" }))) === undefined ? true : undefined), {
        timeoutMs: 10_000,
        message: `port ${port} to accept the new CA's client`,
      });
      expect(await failure(withClient(port, "client").listTasks({ queue: "q" }))).toBeInstanceOf(ConnectError);
    }
  }, 60_000);
});
