import { generateKeyPairSync, createHmac, sign, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { createWorker } from "../worker/index.js";

/**
 * JWTs of an identity provider as a second authenticator: RS256 and ES256 tokens verified
 * against a JWKS the test serves over HTTP, role and queue scopes from claims, each refusal
 * case, and a rotated key picked up without a restart, through gRPC and Connect JSON.
 */

const ISSUER = "https://idp.test.example";
const AUDIENCE = "taskqueue";

interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function makeKey(kid: string, alg: "RS256" | "ES256"): SigningKey {
  const { privateKey, publicKey } = alg === "RS256" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: "jwk" }), kid, alg, use: "sig" } };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowS = () => Math.floor(Date.now() / 1000);

/** A JWT signed by `key` with the given claims over sensible defaults. */
function jwt(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  const body = { iss: ISSUER, aud: AUDIENCE, sub: "alice@example.com", iat: nowS(), exp: nowS() + 600, tq_role: "producer", tq_queues: ["jwt-ok*"], ...claims };
  const input = `${b64({ alg: key.alg, typ: "JWT", kid: key.kid, ...header })}.${b64(body)}`;
  const signature = sign("sha256", Buffer.from(input), key.alg === "ES256" ? { key: key.privateKey, dsaEncoding: "ieee-p1363" } : key.privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

const rsa = makeKey("rsa-1", "RS256");
const ec = makeKey("ec-1", "ES256");
const rotated = makeKey("rsa-2", "RS256");
const stranger = makeKey("rsa-1", "RS256"); // same kid as a published key, but not published
let published: SigningKey[] = [rsa, ec];
let jwks: Server;
let ts: TestServer;

beforeAll(async () => {
  jwks = createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  const port = (jwks.address() as AddressInfo).port;
  ts = await startTestServer({
    authJwtJwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    authJwtIssuer: ISSUER,
    authJwtAudience: AUDIENCE,
    authJwtJwksRefreshMs: 1_000,
  });
});

afterAll(async () => {
  await ts?.stop();
  await new Promise((resolve) => jwks?.close(resolve));
});

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

/** `service` (TaskService by default) over gRPC (the grpc-js port) and over Connect JSON (the gateway), presenting `token`. */
function clients<S extends DescService = typeof TaskService>(token: string, service: S = TaskService as unknown as S) {
  return {
    grpc: createClient(service, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}`, interceptors: [bearer(token)] })),
    json: createClient(service, createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors: [bearer(token)] })),
  };
}

async function failure(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

describe("JWT authentication", () => {
  it("accepts RS256 and ES256 tokens and enforces the queue scope of their claims, on both ports", async () => {
    for (const key of [rsa, ec]) {
      for (const [protocol, client] of Object.entries(clients(jwt(key)))) {
        const queue = uniqueQueue("jwt-ok");
        const { task } = await client.submitTask({ queue, type: "t" });
        expect(task?.queue, `${key.alg} ${protocol}`).toBe(queue);
        const outside = await failure(client.submitTask({ queue: uniqueQueue("other"), type: "t" }));
        expect(outside?.code, `${key.alg} ${protocol}`).toBe(Code.PermissionDenied);
        expect(outside?.rawMessage).toMatch(/role producer may not act on queue "other.*" \(its queues: jwt-ok\*\)/);
      }
    }
    // A queues claim as one string, and a role from a list at a dotted path is not configured: tq_role only.
    const spaced = clients(jwt(rsa, { tq_queues: "a-* jwt-ok*", tq_role: ["unrelated", "viewer"] }));
    await spaced.grpc.listTasks({ queue: uniqueQueue("jwt-ok") });
    expect((await failure(spaced.grpc.submitTask({ queue: uniqueQueue("jwt-ok"), type: "t" })))?.code).toBe(Code.PermissionDenied);
  });

  const refusals: Array<[string, () => string, Code, RegExp]> = [
    ["alg none", () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600, tq_role: "admin", tq_queues: ["*"] })}.`, Code.Unauthenticated, /invalid or revoked|alg/],
    ["alg none with a signature part", () => jwt(rsa, {}, { alg: "none" }), Code.Unauthenticated, /alg "none" is not accepted/],
    [
      "HS256 keyed with the public key (algorithm confusion)",
      () => {
        const input = `${b64({ alg: "HS256", typ: "JWT", kid: rsa.kid })}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600, tq_role: "admin", tq_queues: ["*"] })}`;
        return `${input}.${createHmac("sha256", JSON.stringify(rsa.jwk)).update(input).digest("base64url")}`;
      },
      Code.Unauthenticated,
      /alg "HS256" is not accepted/,
    ],
    ["wrong issuer", () => jwt(rsa, { iss: "https://evil.example" }), Code.Unauthenticated, /issuer "https:\/\/evil.example" is not/],
    ["wrong audience", () => jwt(rsa, { aud: ["other-api"] }), Code.Unauthenticated, /audience \["other-api"\] does not include "taskqueue"/],
    ["expired", () => jwt(rsa, { exp: nowS() - 3600 }), Code.Unauthenticated, /expired at/],
    ["not valid yet (nbf)", () => jwt(rsa, { nbf: nowS() + 3600 }), Code.Unauthenticated, /not valid before/],
    ["no exp", () => jwt(rsa, { exp: undefined }), Code.Unauthenticated, /no exp claim/],
    ["unknown kid", () => jwt(makeKey("nobody", "RS256")), Code.Unauthenticated, /unknown key id "nobody"/],
    ["signed by an unpublished key with a published kid", () => jwt(stranger), Code.Unauthenticated, /bad signature/],
    ["payload changed after signing", () => {
      const [h, , s] = jwt(rsa).split(".");
      return `${h}.${b64({ iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600, tq_role: "admin", tq_queues: ["*"] })}.${s}`;
    }, Code.Unauthenticated, /bad signature/],
    ["ES256 header on an RSA kid", () => jwt({ ...ec, kid: rsa.kid }), Code.Unauthenticated, /unknown key id "rsa-1" for ES256/],
    ["no role claim", () => jwt(rsa, { tq_role: undefined }), Code.PermissionDenied, /claim tq_role names no role/],
    ["no queues claim", () => jwt(rsa, { tq_queues: undefined }), Code.PermissionDenied, /claim tq_queues names no queue patterns/],
  ];
  for (const [name, token, code, message] of refusals) {
    it(`refuses ${name} on both ports`, async () => {
      for (const [protocol, client] of Object.entries(clients(token()))) {
        const error = await failure(client.listTasks({ queue: "jwt-ok-x" }));
        expect(error?.code, protocol).toBe(code);
        expect(error?.rawMessage, protocol).toMatch(message);
      }
    });
  }

  it("lets a scoped viewer list the queues of its scope only (the dashboard overview), on both ports", async () => {
    const admin = clients(jwt(ec, { tq_role: "admin", tq_queues: "*" })).grpc;
    const mine = uniqueQueue("jwt-view");
    const theirs = uniqueQueue("other-view");
    for (const queue of [mine, theirs]) await admin.submitTask({ queue, type: "t" });
    const listed = async (client: Client<typeof QueueService>) => {
      const names: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listQueues({ pageSize: 1, pageToken });
        names.push(...page.queues.map((q) => q.name));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      return names;
    };
    for (const [protocol, client] of Object.entries(clients(jwt(rsa, { tq_role: "viewer", tq_queues: ["jwt-view*"] }), QueueService))) {
      const names = await listed(client);
      expect(names, protocol).toContain(mine);
      expect(names.every((n) => n.startsWith("jwt-view")), protocol).toBe(true);
    }
    expect(await listed(clients(jwt(ec, { tq_role: "admin", tq_queues: "*" }), QueueService).grpc)).toEqual(expect.arrayContaining([mine, theirs]));
  });

  it("serves a worker presenting a worker JWT on its queues, and refuses its hello for another queue", async () => {
    const queue = uniqueQueue("jwt-work");
    const logger = createLogger({ name: "w", level: "silent" });
    const token = jwt(ec, { tq_role: "worker", tq_queues: ["jwt-work*"] });
    const worker = createWorker({ address: ts.grpcAddress, token, queues: [queue], handlers: { echo: (task) => task.payload }, logger });
    const outsider = createWorker({ address: ts.grpcAddress, token, queues: [uniqueQueue("billing")], handlers: { echo: () => null }, logger });
    const refused = new Promise<unknown>((resolve) => outsider.on("disconnected", (end) => resolve(end.error)));
    try {
      await worker.start();
      void outsider.start();
      const { task } = await clients(jwt(rsa, { tq_queues: ["jwt-work*"] })).grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ hi: 1 }) });
      await waitForState(clients(jwt(rsa, { tq_role: "admin", tq_queues: "*" })).grpc, task!.id, TaskState.SUCCEEDED);
      const error = ConnectError.from(await refused);
      expect(error.code).toBe(Code.PermissionDenied);
      expect(error.rawMessage).toMatch(/role worker may not act on queue "billing/);
    } finally {
      await Promise.all([worker.stop({ timeoutMs: 2_000 }), outsider.stop({ timeoutMs: 2_000 })]);
    }
  });

  it("picks up a rotated key from the JWKS without a restart, and drops a key removed from it", async () => {
    const queue = uniqueQueue("jwt-ok");
    published = [rsa, ec, rotated];
    const client = clients(jwt(rotated)).grpc;
    await waitFor(async () => ((await failure(client.listTasks({ queue }))) === undefined ? true : undefined), { timeoutMs: 15_000, message: "the rotated key to be accepted" });
    const old = clients(jwt(rsa)).grpc;
    await old.listTasks({ queue });
    published = [ec, rotated];
    await waitFor(async () => ((await failure(old.listTasks({ queue })))?.code === Code.Unauthenticated ? true : undefined), {
      timeoutMs: 15_000,
      message: "the removed key to be refused (a cached verification included)",
    });
  });
});
