import { readdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, Role } from "../gen/taskqueue/v1/auth_service_pb.js";
import { DeadLetterService } from "../gen/taskqueue/v1/dead_letter_service_pb.js";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { TaskService } from "../gen/taskqueue/v1/task_service_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { methodPolicies } from "../server/auth/method-policies.js";
import { ROLE_NAMES, roleEnumOf, type RoleName } from "../server/auth/roles.js";
import { createLogger } from "../server/observability/logger.js";
import { createWorker } from "../worker/index.js";
import { waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { openWorkerStream } from "./support/worker-stream-client.js";

const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** Every service of the API, from the generated code (a new service file is picked up). */
async function apiServices(): Promise<DescService[]> {
  const dir = new URL("../gen/taskqueue/v1/", import.meta.url);
  const services: DescService[] = [Health];
  for (const file of readdirSync(dir).filter((f) => f.endsWith("_service_pb.ts"))) {
    const module = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === "object" && value !== null && (value as { kind?: string }).kind === "service") services.push(value as DescService);
    }
  }
  return services;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function failure(call: Promise<unknown>): Promise<ConnectError | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

let ts: TestServer;
let admin: Client<typeof AuthService>;
const roleTokens = new Map<RoleName, string>();
const tokenIds = new Map<RoleName, string>();

async function createToken(role: RoleName, queues: string[] = [], name = `${role}-token`): Promise<{ id: string; secret: string }> {
  const { token, secret } = await admin.createToken({ name, role: roleEnumOf(role), queues }, { headers: bearer(ADMIN_TOKEN) });
  return { id: token!.id, secret };
}

beforeAll(async () => {
  ts = await startTestServer({ adminToken: ADMIN_TOKEN });
  admin = createClient(AuthService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
  for (const role of ROLE_NAMES) {
    const { id, secret } = await createToken(role);
    roleTokens.set(role, secret);
    tokenIds.set(role, id);
  }
});

afterAll(async () => {
  await ts?.stop();
});

describe("the policy table", () => {
  it("has a policy for every RPC of every service of the API", async () => {
    const missing: string[] = [];
    for (const service of await apiServices()) {
      for (const method of service.methods) {
        const path = `/${service.typeName}/${method.name}`;
        if (!methodPolicies[path]) missing.push(path);
      }
    }
    expect(missing, "add a line per RPC to server/auth/method-policies.ts").toEqual([]);
  });
});

describe("every unary RPC × every role", () => {
  const transports: Array<[string, () => Transport]> = [
    ["gRPC", () => createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` })],
    ["Connect JSON", () => createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1" })],
  ];
  for (const [protocol, transport] of transports) {
    it(`allows and refuses as the policy says, through ${protocol}`, async () => {
      const outcomes: string[] = [];
      const wrong: string[] = [];
      for (const service of await apiServices()) {
        const client = createClient(service, transport()) as unknown as Record<string, (req: object, options: object) => Promise<unknown>>;
        for (const method of service.methods.filter((m) => m.methodKind === "unary")) {
          const path = `/${service.typeName}/${method.name}`;
          const policy = methodPolicies[path]!;
          const noToken = await failure(client[method.localName]!({}, {}));
          if (policy.roles === "open") {
            if (noToken?.code === Code.Unauthenticated || noToken?.code === Code.PermissionDenied) wrong.push(`${path} open but refused`);
          } else if (noToken?.code !== Code.Unauthenticated) {
            wrong.push(`${path} without token: ${noToken ? Code[noToken.code] : "OK"}`);
          }
          for (const role of ROLE_NAMES) {
            const error = await failure(client[method.localName]!({}, { headers: bearer(roleTokens.get(role)!) }));
            const allowed = policy.roles === "open" || policy.roles.includes(role);
            const denied = error?.code === Code.PermissionDenied;
            if (error?.code === Code.Unauthenticated) wrong.push(`${path} ${role}: UNAUTHENTICATED`);
            else if (allowed === denied) wrong.push(`${path} ${role}: ${allowed ? "allowed" : "refused"} by policy, got ${error ? Code[error.code] : "OK"}`);
            else if (denied && !error.rawMessage.includes(`role ${role}`)) wrong.push(`${path} ${role}: message "${error.rawMessage}" does not name the role`);
            outcomes.push(`${path} ${role} ${denied ? "denied" : "allowed"}`);
          }
        }
      }
      expect(wrong).toEqual([]);
      expect(outcomes.length).toBeGreaterThan(80);
    });
  }
});

describe("tokens", () => {
  it("refuses a malformed authorization header and an unknown token with UNAUTHENTICATED", async () => {
    for (const headers of [{ authorization: "Basic abc" }, bearer("tq_not-a-token")]) {
      const error = await failure(ts.grpc.listTasks({ queue: "q" }, { headers }));
      expect(error?.code).toBe(Code.Unauthenticated);
    }
  });

  it("limits a scoped producer to its queues, naming the role and the queue", async () => {
    const { secret } = await createToken("producer", ["emails*"]);
    const ok = await ts.connect.submitTask({ queue: `emails-${uniqueQueue()}`, type: "t" }, { headers: bearer(secret) });
    expect(ok.task?.id).toBeTruthy();
    const error = await failure(ts.grpc.submitTask({ queue: "sms", type: "t" }, { headers: bearer(secret) }));
    expect(error?.code).toBe(Code.PermissionDenied);
    expect(error?.rawMessage).toMatch(/role producer may not act on queue "sms"/);
    const batch = await failure(ts.grpc.submitTasks({ tasks: [{ queue: "emails-a", type: "t" }, { queue: "billing", type: "t" }] }, { headers: bearer(secret) }));
    expect(batch?.rawMessage).toMatch(/"billing"/);
    // A list without a queue would span queues outside the scope.
    const list = await failure(ts.connect.listTasks({}, { headers: bearer(secret) }));
    expect(list?.code).toBe(Code.PermissionDenied);
    // GetTask of a task in another queue: the task's queue is looked up.
    const other = await ts.grpc.submitTask({ queue: "sms", type: "t" }, { headers: bearer(ADMIN_TOKEN) });
    const get = await failure(ts.grpc.getTask({ id: other.task!.id }, { headers: bearer(secret) }));
    expect(get?.rawMessage).toMatch(/queue "sms"/);
  });

  it("validates CreateToken naming the field", async () => {
    const error = await failure(admin.createToken({ name: "x", role: Role.UNSPECIFIED }, { headers: bearer(ADMIN_TOKEN) }));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/^role:/);
    const pattern = await failure(admin.createToken({ name: "x", role: Role.VIEWER, queues: [""] }, { headers: bearer(ADMIN_TOKEN) }));
    expect(pattern?.rawMessage).toMatch(/^queues\[0\]:/);
  });

  it("lists tokens without secrets and stores only hashes", async () => {
    const { tokens } = await admin.listTokens({}, { headers: bearer(ADMIN_TOKEN) });
    expect(tokens.length).toBeGreaterThanOrEqual(ROLE_NAMES.length);
    const { rows } = await ts.pool.query<{ token_hash: string }>("select token_hash from api_tokens");
    for (const secret of roleTokens.values()) {
      expect(tokens.map((t) => [t.id, t.name, t.prefix, ...t.queues].join(" ")).join("\n")).not.toContain(secret);
      expect(rows.some((r) => r.token_hash.includes(secret))).toBe(false);
    }
  });
});

describe("the audit log", () => {
  it("records admin and operator actions with who, from where, what and the outcome", async () => {
    const queues = createClient(QueueService, createConnectTransport({ baseUrl: ts.httpBaseUrl, httpVersion: "1.1" }));
    const queue = uniqueQueue("audited");
    await queues.pauseQueue({ name: queue, reason: "maintenance" }, { headers: bearer(roleTokens.get("operator")!) });
    const denied = await failure(
      createClient(DeadLetterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` })).purgeDeadTasks({ queue }, { headers: bearer(roleTokens.get("producer")!) }),
    );
    expect(denied?.code).toBe(Code.PermissionDenied);
    await queues.getQueue({ name: queue }, { headers: bearer(roleTokens.get("operator")!) });
    const { events, nextPageToken } = await admin.listAuditEvents({ pageSize: 2 }, { headers: bearer(ADMIN_TOKEN) });
    expect(events.map((e) => [e.method, e.actor, e.role, e.outcome])).toEqual([
      ["/taskqueue.v1.DeadLetterService/PurgeDeadTasks", `token "producer-token" (${tokenIds.get("producer")})`, "producer", "PERMISSION_DENIED"],
      ["/taskqueue.v1.QueueService/PauseQueue", `token "operator-token" (${tokenIds.get("operator")})`, "operator", "OK"],
    ]);
    expect(JSON.parse(events[1]!.requestJson)).toEqual({ name: queue, reason: "maintenance" });
    expect(events[1]!.peer).toMatch(/127\.0\.0\.1/);
    expect(events[0]!.id).toBeGreaterThan(events[1]!.id);
    const next = await admin.listAuditEvents({ pageSize: 2, pageToken: nextPageToken }, { headers: bearer(ADMIN_TOKEN) });
    expect(next.events[0]!.id).toBeLessThan(events[1]!.id);
    const reader = await failure(admin.listAuditEvents({}, { headers: bearer(roleTokens.get("operator")!) }));
    expect(reader?.code).toBe(Code.PermissionDenied);
  });
});

describe("worker streams", () => {
  it("refuses a producer token, and a worker hello naming a queue outside the token's scope", async () => {
    const grpc = createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` });
    const producer = await openWorkerStream(grpc, roleTokens.get("producer")!, ["a"]).ended;
    expect(producer?.code).toBe(Code.PermissionDenied);
    expect(producer?.rawMessage).toMatch(/role producer may not call \/taskqueue.v1.WorkerService\/Connect/);
    const { secret } = await createToken("worker", ["jobs-*"]);
    const outside = await openWorkerStream(grpc, secret, ["jobs-1", "billing"]).ended;
    expect(outside?.code).toBe(Code.PermissionDenied);
    expect(outside?.rawMessage).toMatch(/role worker may not act on queue "billing"/);
    const inside = openWorkerStream(grpc, secret, ["jobs-1"]);
    await inside.welcome;
    inside.close();
    expect(await inside.ended).toBeUndefined();
  });

  it("runs tasks on a worker of the TypeScript SDK that presents a worker token", async () => {
    const queue = uniqueQueue("sdk");
    const { secret } = await createToken("worker", [queue]);
    const worker = createWorker({
      address: ts.grpcAddress,
      token: secret,
      queues: [queue],
      handlers: { echo: (task) => task.payload },
      logger: createLogger({ name: "w", level: "silent" }),
    });
    await worker.start();
    try {
      const { task } = await ts.grpc.submitTask({ queue, type: "echo" }, { headers: bearer(roleTokens.get("producer")!) });
      const asAdmin = createClient(
        TaskService,
        createGrpcTransport({
          baseUrl: `http://${ts.grpcAddress}`,
          interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${ADMIN_TOKEN}`), next(req))],
        }),
      );
      await waitForState(asAdmin, task!.id, TaskState.SUCCEEDED);
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
  });

  // A second server starts and stops within the test: slow on a loaded machine (90 s allowed).
  it("ends the open streams of a revoked token on every server with UNAUTHENTICATED", async () => {
    const second = await startTestServer({ adminToken: ADMIN_TOKEN }, { databaseUrl: ts.databaseUrl, redisPrefix: ts.redisPrefix });
    try {
      const { id, secret } = await createToken("worker", ["*"], "revoked-worker");
      const streams = [
        openWorkerStream(createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }), secret, ["r"]),
        // The gateway of the other server, gRPC over h2c.
        openWorkerStream(createGrpcTransport({ baseUrl: second.httpBaseUrl }), secret, ["r"]),
      ];
      await Promise.all(streams.map((s) => s.welcome));
      const revokedAt = Date.now();
      await admin.revokeToken({ id }, { headers: bearer(ADMIN_TOKEN) });
      const errors = await Promise.all(streams.map((s) => s.ended));
      const tookMs = Date.now() - revokedAt;
      for (const error of errors) {
        expect(error?.code).toBe(Code.Unauthenticated);
        expect(error?.rawMessage).toMatch(/revoked/);
      }
      expect(tookMs).toBeLessThan(5_000);
      const after = await failure(second.grpc.listTasks({ queue: "r" }, { headers: bearer(secret) }));
      expect(after?.code).toBe(Code.Unauthenticated);
    } finally {
      await second.stop();
    }
  }, 90_000);
});

describe("without any token configured", () => {
  let open: TestServer;
  let none: TestServer;
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

  beforeAll(async () => {
    open = await startTestServer({ host: "0.0.0.0" });
    none = await startTestServer({ host: "0.0.0.0", authMode: "none" });
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), none?.stop()]);
  });

  it("serves loopback clients without a token and refuses the others (unless AUTH_MODE=none)", async () => {
    expect(external, "a non-loopback IPv4 address of this machine").toBeDefined();
    await open.grpc.listTasks({ queue: "q" });
    await open.connect.listTasks({ queue: "q" });
    const viaNetwork = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${external}:${open.server.grpcPort}` }));
    const refused = await failure(viaNetwork.listTasks({ queue: "q" }));
    expect(refused?.code).toBe(Code.Unauthenticated);
    expect(refused?.rawMessage).toMatch(/loopback clients only/);
    const gateway = createClient(TaskService, createConnectTransport({ baseUrl: `http://${external}:${open.server.httpPort}`, httpVersion: "1.1" }));
    expect((await failure(gateway.listTasks({ queue: "q" })))?.code).toBe(Code.Unauthenticated);
    // Health stays open.
    const health = createClient(Health, createGrpcTransport({ baseUrl: `http://${external}:${open.server.grpcPort}` }));
    await health.check({});
    const anyone = createClient(TaskService, createGrpcTransport({ baseUrl: `http://${external}:${none.server.grpcPort}` }));
    await anyone.listTasks({ queue: "q" });
  });
});

describe("the gateway's HTTP routes", () => {
  it("refuses pages of foreign origins by default and keeps /metrics for viewers", async () => {
    const foreign = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/ListTasks`, {
      method: "POST",
      headers: { origin: "https://evil.example", "content-type": "application/json", ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({ queue: "q" }),
    });
    expect(foreign.status).toBe(403);
    const preflight = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/ListTasks`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    const same = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/ListTasks`, {
      method: "POST",
      headers: { origin: ts.httpBaseUrl, "content-type": "application/json", ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({ queue: "q" }),
    });
    expect(same.status).toBe(200);
    expect((await fetch(`${ts.httpBaseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${ts.httpBaseUrl}/metrics`, { headers: bearer(roleTokens.get("producer")!) })).status).toBe(403);
    expect((await fetch(`${ts.httpBaseUrl}/metrics`, { headers: bearer(roleTokens.get("viewer")!) })).status).toBe(200);
    expect((await fetch(`${ts.httpBaseUrl}/healthz`)).status).toBe(200);
  });
});
