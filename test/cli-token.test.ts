import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTq } from "./support/cli.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/** `tq token create|list|revoke` as a real process against a server that requires tokens. */

const ADMIN_TOKEN = "cli-admin-token-0123456789abcdef";
let ts: TestServer;
const tq = (token: string | undefined, ...args: string[]) =>
  runTq(args, { server: ts.grpcAddress, env: { TQ_TOKEN: token ?? "" } });

beforeAll(async () => {
  ts = await startTestServer({ adminToken: ADMIN_TOKEN });
});

afterAll(async () => {
  await ts?.stop();
});

describe("tq token", () => {
  it("creates a scoped producer token, lists it without its secret, and revokes it", async () => {
    const created = await tq(ADMIN_TOKEN, "token", "create", "--name", "emails", "--role", "producer", "--queue", "emails*");
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^tq_[\w-]{43}$/);
    expect(created.stderr).toMatch(/^token (tok_\S+) \(producer on emails\*\)/);
    const id = /token (tok_\S+)/.exec(created.stderr)![1]!;

    const submitted = await tq(secret, "task", "submit", "send", "--queue", `emails-${uniqueQueue()}`);
    expect(submitted.code).toBe(0);
    const refused = await tq(secret, "task", "submit", "send", "--queue", "sms");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/role producer may not act on queue "sms"/);
    const anonymous = await tq(undefined, "queue", "list");
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/missing API token/);

    const list = await tq(ADMIN_TOKEN, "--json", "token", "list");
    expect(list.code).toBe(0);
    expect(list.json().tokens).toEqual([expect.objectContaining({ id, name: "emails", role: "ROLE_PRODUCER", queues: ["emails*"] })]);
    expect(list.stdout).not.toContain(secret);
    const table = await tq(ADMIN_TOKEN, "token", "list");
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+emails\\s+producer\\s+emails\\*`, "m"));

    const revoked = await tq(ADMIN_TOKEN, "token", "revoke", id);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.trim()).toBe(`revoked ${id} (emails)`);
    const after = await tq(secret, "task", "submit", "send", "--queue", "emails-x");
    expect(after.stderr).toMatch(/invalid or revoked API token/);
    expect((await tq(ADMIN_TOKEN, "--json", "token", "list")).json().tokens ?? []).toEqual([]);
    expect((await tq(ADMIN_TOKEN, "--json", "token", "list", "--all")).json().tokens).toHaveLength(1);

    const audit = await tq(ADMIN_TOKEN, "--json", "audit", "list", "--limit", "2");
    expect(audit.code).toBe(0);
    expect(audit.json().events.map((e: { method: string; actor: string; outcome: string }) => [e.method, e.actor, e.outcome])).toEqual([
      ["/taskqueue.v1.AuthService/RevokeToken", "TQ_ADMIN_TOKEN", "OK"],
      ["/taskqueue.v1.AuthService/CreateToken", "TQ_ADMIN_TOKEN", "OK"],
    ]);
    const auditTable = await tq(ADMIN_TOKEN, "audit", "list");
    expect(auditTable.stdout.split("\n")[0]).toMatch(/^TIME\s+ACTOR\s+ROLE\s+FROM\s+METHOD\s+OUTCOME\s+REQUEST$/);
    expect(auditTable.stdout).toMatch(/AuthService\/RevokeToken\s+OK\s+\{"id":"tok_/);
  });

  it("refuses an unknown role naming the option", async () => {
    const bad = await tq(ADMIN_TOKEN, "token", "create", "--role", "boss");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--role/);
  });
});
