import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTaskClient, type TaskClient, type TaskSpec } from "../clients/ts/index.js";
import { FaultStack } from "./support/fault-stack.js";
import type { ServerProcess } from "./support/processes.js";
import { stateCounts } from "./support/task-db.js";
import { uniqueQueue } from "./support/test-server.js";

// Was a bug: a producer with many large SubmitTasks calls outstanding while the server was
// slow to read them had Node's HTTP/2 session guard refuse the answers of calls the server had
// already committed (the client reset their streams with NGHTTP2_ENHANCE_YOUR_CALM while its
// session held more than 10 MB of requests waiting to be sent, e.g. behind the server's 1,000
// concurrent streams), so the caller saw INTERNAL for tasks that were queued. Requests waiting to be sent are memory the client chose to spend: the client,
// the worker and the gateway no longer cap an HTTP/2 session's memory (a peer's sending is
// bounded by flow control).

const CALLS = 1500;
const TASKS_PER_CALL = 20;
const PAYLOAD = { data: "x".repeat(1000) };

let stack: FaultStack;
let server: ServerProcess;
const clients: TaskClient[] = [];

beforeAll(async () => {
  stack = await FaultStack.create();
  server = await stack.startServer();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.kill("SIGCONT").catch(() => undefined);
  await stack?.close();
});

describe.each([
  ["the gRPC port", () => server.grpcAddress],
  ["the gateway (gRPC over h2c)", () => `http://127.0.0.1:${server.httpPort}`],
])("a TypeScript producer with 1,500 SubmitTasks calls (~30 MB) outstanding to %s while the server is frozen", (_name, address) => {
  it("gets an answer to every call once the server runs again, and every task it was told of is queued", async () => {
    const client = createTaskClient({ address: address(), timeoutMs: 120_000 });
    clients.push(client);
    const queue = uniqueQueue("outstanding");
    await client.submitTask({ queue, type: "echo" }); // the connection is open
    await server.kill("SIGSTOP");
    const batch = (): TaskSpec[] => Array.from({ length: TASKS_PER_CALL }, () => ({ queue, type: "echo", payload: PAYLOAD }));
    const calls = Array.from({ length: CALLS }, () => client.submitTasks(batch(), { view: "basic" }));
    // Everything is handed to the connection before the server reads again.
    await new Promise((resolve) => setImmediate(resolve));
    await server.kill("SIGCONT");
    const outcomes = await Promise.allSettled(calls);
    const failures = outcomes.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason));
    expect(failures.slice(0, 3)).toEqual([]);
    const accepted = outcomes.flatMap((o) => (o.status === "fulfilled" ? o.value.filter((item) => !item.error) : []));
    expect(accepted).toHaveLength(CALLS * TASKS_PER_CALL);
    expect(await stateCounts(stack.pool, [queue])).toEqual({ QUEUED: CALLS * TASKS_PER_CALL + 1 });
  });
});
