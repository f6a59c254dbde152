import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTq } from "./support/cli.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/** Quotas through `tq`, a real process: a token's own submit rate (tq waits and retries), a queue's payload limit. */

const ADMIN_TOKEN = "cli-quota-admin-token-0123456789";
let ts: TestServer;
const tq = (token: string, ...args: string[]) => runTq(args, { server: ts.grpcAddress, env: { TQ_TOKEN: token } });

beforeAll(async () => {
  ts = await startTestServer({ adminToken: ADMIN_TOKEN });
});

afterAll(async () => {
  await ts?.stop();
});

describe("tq and quotas", () => {
  it("creates a token with its own quotas; a submit over its rate waits the server's delay and succeeds", async () => {
    const created = await tq(ADMIN_TOKEN, "token", "create", "--name", "slow", "--role", "producer", "--submit-rate", "10", "--submit-burst", "1", "--max-worker-streams", "4");
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    const listed = await tq(ADMIN_TOKEN, "--json", "token", "list");
    expect(listed.json().tokens[0]).toMatchObject({ name: "slow", submitRate: 10, submitBurst: 1, maxWorkerStreams: 4 });
    const queue = uniqueQueue("cli-quota");
    // A batch larger than the bucket passes and leaves it 4 s in debt (40 tasks at 10/s).
    const batch = Array.from({ length: 40 }, () => ({ queue, type: "send" }));
    await ts.grpc.submitTasks({ tasks: batch }, { headers: { authorization: `Bearer ${secret}` } });
    const second = await tq(secret, "task", "submit", "send", "--queue", queue);
    expect(second.code).toBe(0);
    expect(second.stderr).toMatch(/^token "slow" \(tok_\S+\) is over its submit quota of 10 tasks\/s \(burst 1\): waiting \d+ ms, then retrying$/m);
    if (process.env.SHOW_CLI_OUTPUT) console.log(created.stderr, second.stdout, second.stderr);
  });

  it("sets a queue's payload limit and refuses a larger payload, naming the field and the limit", async () => {
    const queue = uniqueQueue("cli-payload");
    const set = await tq(ADMIN_TOKEN, "queue", "set", queue, "--max-payload", "16");
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^Max payload:\s+16 bytes$/m);
    const refused = await tq(ADMIN_TOKEN, "task", "submit", "send", '{"to":"someone@example.com"}', "--queue", queue);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`payload: 28 bytes exceeds the limit of queue "${queue}" (max_payload_bytes 16)`);
    expect((await tq(ADMIN_TOKEN, "task", "submit", "send", '{"to":"a@b.c"}', "--queue", queue)).code).toBe(0);
    const usage = await tq(ADMIN_TOKEN, "queue", "set", queue, "--max-payload", "5MiB");
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toMatch(/--max-payload: must be a size from 1 to 4128768 bytes/);
    if (process.env.SHOW_CLI_OUTPUT) console.log(set.stdout, refused.stderr);
  });
});
