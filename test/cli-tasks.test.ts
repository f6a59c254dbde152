import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { runTq, runTqOnTerminal } from "./support/cli.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * `tq task …` run as a real process (the built bin/tq.js) against a real server: every
 * command of the group, its --json document, and the exit code of each failure class.
 */

let ts: TestServer;
let worker: Worker;
let dir: string;
/** The queue the in-test worker (the example handlers: echo, sleep, fail) serves. */
const served = uniqueQueue("cli-served");
const tq = (...args: string[]) => runTq(args, { server: ts.grpcAddress });

beforeAll(async () => {
  ts = await startTestServer();
  worker = createWorker({ address: ts.grpcAddress, queues: [served], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
  await worker.start();
  dir = await mkdtemp(join(tmpdir(), "tq-cli-"));
});

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("tq task submit, get, list, cancel", () => {
  it("submits a task with every option and prints its id; get and list show it", async () => {
    const queue = uniqueQueue("cli-submit");
    const submitted = await tq(
      "task", "submit", "send", '{"to":"a@b.c"}', "--queue", queue, "--priority", "high", "--timeout", "5m",
      "--delay", "1h", "--max-retries", "4", "--idempotency-key", "order-1", "--label", "team=mail", "--label", "tier=gold",
      "--concurrency-key", "customer-7",
    );
    expect(submitted.stderr).toBe("");
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const got = await tq("--json", "task", "get", id);
    expect(got.code).toBe(0);
    const { task, attempts } = got.json();
    expect(task).toMatchObject({
      id,
      queue,
      type: "send",
      payload: { to: "a@b.c" },
      priority: 90,
      state: "TASK_STATE_SCHEDULED",
      maxAttempts: 5,
      timeout: "300s",
      idempotencyKey: "order-1",
      concurrencyKey: "customer-7",
      labels: { team: "mail", tier: "gold" },
    });
    expect((await tq("task", "get", id)).stdout).toMatch(/^Concurrency key:\s+customer-7$/m);
    expect(Date.parse(task.scheduledAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect(attempts).toEqual([]);

    // The same key returns the first task; --json says it existed.
    const again = await tq("--json", "task", "submit", "send", "{}", "--queue", queue, "--idempotency-key", "order-1");
    expect(again.json()).toMatchObject({ task: { id }, existing: true });

    const human = await tq("task", "get", id);
    expect(human.stdout).toMatch(/^ID:\s+\S+/m);
    expect(human.stdout).toMatch(/^State:\s+SCHEDULED$/m);
    expect(human.stdout).toMatch(/^Labels:\s+team=mail, tier=gold$/m);
    expect(human.stdout).not.toContain("\u001b[");

    const listed = await tq("--json", "task", "list", "--queue", queue, "--state", "scheduled");
    expect(listed.code).toBe(0);
    expect(listed.json()).toEqual({ tasks: [expect.objectContaining({ id })], nextPageToken: "" });
    const none = await tq("--json", "task", "list", "--queue", queue, "--state", "QUEUED");
    expect(none.json().tasks).toEqual([]);
    const table = await tq("task", "list", "--queue", queue);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+QUEUE\s+TYPE\s+STATE\s+PRIORITY\s+ATTEMPT\s+CREATED$/);
    expect(table.stdout).toContain(id);

    const cancelled = await tq("--json", "task", "cancel", id, "--reason", "not needed");
    expect(cancelled.code).toBe(0);
    expect(cancelled.json().task).toMatchObject({ id, state: "TASK_STATE_CANCELLED", cancelReason: "not needed" });
    // Cancelling it again: FAILED_PRECONDITION, exit 4.
    const twice = await tq("task", "cancel", id);
    expect(twice.code).toBe(4);
    expect(twice.stderr).toMatch(/^error: FAILED_PRECONDITION: .*already CANCELLED/);
  });

  it("pages through a list with --limit and --page-token", async () => {
    const queue = uniqueQueue("cli-page");
    for (let i = 0; i < 3; i++) expect((await tq("task", "submit", "noop", String(i), "--queue", queue)).code).toBe(0);
    const first = (await tq("--json", "task", "list", "--queue", queue, "--limit", "2")).json();
    expect(first.tasks).toHaveLength(2);
    expect(first.nextPageToken).not.toBe("");
    const second = (await tq("--json", "task", "list", "--queue", queue, "--limit", "2", "--page-token", first.nextPageToken)).json();
    expect(second.tasks).toHaveLength(1);
    expect(second.nextPageToken).toBe("");
    const human = await tq("task", "list", "--queue", queue, "--limit", "2");
    expect(human.stderr).toContain(`more: --page-token ${first.nextPageToken}`);
  });

  it("reads the payload from stdin with -", async () => {
    const queue = uniqueQueue("cli-stdin");
    const run = await runTq(["--json", "task", "submit", "send", "-", "--queue", queue], { server: ts.grpcAddress, input: '{"from":"stdin"}\n' });
    expect(run.code).toBe(0);
    expect(run.json().task).toMatchObject({ payload: { from: "stdin" } });
  });
});

describe("tq task submit --wait and watch", () => {
  it("waits for a task that succeeds: prints its id, then its result; exit 0", async () => {
    const run = await tq("task", "submit", "echo", '{"hello":"world"}', "--queue", served, "--wait");
    expect(run.code).toBe(0);
    const [id, result] = run.stdout.trim().split("\n");
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(result!)).toEqual({ hello: "world" });
    expect(run.stderr).toContain(`${id} SUCCEEDED`);

    const json = await tq("--json", "task", "submit", "echo", '{"n":1}', "--queue", served, "--wait");
    expect(json.code).toBe(0);
    expect(json.json()).toMatchObject({ task: { state: "TASK_STATE_SUCCEEDED", result: { n: 1 }, attempt: 1 }, existing: false });
    expect(json.stderr).toBe("");
  });

  it("waits for a task that ends DEAD: exit 1 with its last error", async () => {
    const run = await tq("task", "submit", "fail", '{"times":5,"retryable":false}', "--queue", served, "--wait");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/task ended \S+ DEAD: PlannedFailure: failing attempt 1 of 5 on purpose \(attempt 1, non-retryable\)/);
    const json = await tq("--json", "task", "submit", "fail", '{"times":5}', "--queue", served, "--max-retries", "1", "--wait");
    expect(json.code).toBe(1);
    const { task } = json.json();
    expect(task).toMatchObject({ state: "TASK_STATE_DEAD", attempt: 2, maxAttempts: 2, lastError: { message: "failing attempt 2 of 5 on purpose" } });
  }, 60_000);

  it("watches a running task until it ends", async () => {
    const id = (await tq("task", "submit", "sleep", '{"ms":300}', "--queue", served)).stdout.trim();
    const watched = await tq("--json", "task", "watch", id);
    expect(watched.code).toBe(0);
    expect(watched.json().task).toMatchObject({ id, state: "TASK_STATE_SUCCEEDED", result: { slept: 300 } });
    const again = await tq("task", "watch", id);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^State:\s+SUCCEEDED$/m);
  });
});

describe("tq task submit-batch", () => {
  it("submits the good lines and reports the bad ones by line number; exit 1", async () => {
    const queue = uniqueQueue("cli-batch");
    const file = join(dir, "tasks.jsonl");
    await writeFile(
      file,
      [
        '{"type":"send","payload":{"to":"a@b.c"}}',
        '{"type":"send","priority":"low","labels":{"n":"2"}}',
        "",
        "{not json",
        '{"type":"send","queue":"bad queue!"}',
        '{"type":"send","idempotencyKey":"k1","delay":"1h"}',
        '{"payload":1}',
      ].join("\n"),
    );
    const run = await tq("--json", "task", "submit-batch", file, "--queue", queue);
    expect(run.code).toBe(1);
    const doc = run.json();
    expect(doc).toMatchObject({ accepted: 3, existing: 0, refused: 3 });
    expect(doc.results.map((r: { line: number }) => r.line)).toEqual([1, 2, 4, 5, 6, 7]);
    expect(doc.results[2]).toMatchObject({ line: 4, error: { code: "INVALID_ARGUMENT", field: "line" } });
    expect(doc.results[3]).toMatchObject({ line: 5, error: { code: "INVALID_ARGUMENT", field: "queue" } });
    expect(doc.results[3].error.message).toMatch(/^queue: "bad queue!" must be/);
    expect(doc.results[5]).toMatchObject({ line: 7, error: { code: "INVALID_ARGUMENT", field: "type" } });
    const listed = (await tq("--json", "task", "list", "--queue", queue)).json();
    expect(listed.tasks).toHaveLength(3);

    const human = await tq("task", "submit-batch", file, "--queue", uniqueQueue("cli-batch"));
    expect(human.code).toBe(1);
    expect(human.stderr).toMatch(/^line 4: INVALID_ARGUMENT: line: not valid JSON/m);
    expect(human.stderr).toMatch(/^line 5: INVALID_ARGUMENT: queue: "bad queue!"/m);
    expect(human.stdout.trim()).toBe("submitted 3 tasks (0 existing), 3 lines refused");

    const good = join(dir, "good.jsonl");
    await writeFile(good, Array.from({ length: 1200 }, (_, i) => JSON.stringify({ type: "send", payload: { i } })).join("\n") + "\n");
    const big = await tq("--json", "task", "submit-batch", good, "--queue", uniqueQueue("cli-batch"));
    expect(big.code).toBe(0);
    expect(big.json()).toMatchObject({ accepted: 1200, refused: 0 });
  });

  it("refuses a missing file as bad input", async () => {
    const run = await tq("task", "submit-batch", join(dir, "missing.jsonl"));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: FILE: cannot read .*missing\.jsonl: no such file$/m);
  });
});

describe("tq exit codes and errors", () => {
  it("NOT_FOUND exits 3 with one line, and the JSON error document with --json", async () => {
    const missing = "01a25191-0000-7000-8000-000000000000";
    const run = await tq("task", "get", missing);
    expect(run).toMatchObject({ code: 3, stdout: "", stderr: `error: NOT_FOUND: task ${missing} not found\n` });
    const json = await tq("--json", "task", "get", missing);
    expect(json.code).toBe(3);
    expect(json.json()).toEqual({ error: { code: "NOT_FOUND", message: `task ${missing} not found`, field: "" } });
  });

  it("INVALID_ARGUMENT exits 2 naming the field, from the server and from the CLI", async () => {
    const server = await tq("--json", "task", "submit", "send", "--queue", "bad queue!");
    expect(server.code).toBe(2);
    expect(server.json().error).toMatchObject({ code: "INVALID_ARGUMENT", field: "queue" });
    const local = await tq("task", "submit", "send", "--priority", "urgent");
    expect(local.code).toBe(2);
    expect(local.stderr).toBe('error: --priority: must be high, normal, low or 0-100, got "urgent"\n');
    const payload = await tq("task", "submit", "send", "{oops");
    expect(payload.code).toBe(2);
    expect(payload.stderr).toMatch(/^error: PAYLOAD_JSON: not valid JSON/);
    const usage = await tq("task", "submit");
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'TYPE'");
    const usageJson = await tq("--json", "task", "submit", "--bogus");
    expect(usageJson.code).toBe(2);
    expect(usageJson.json()).toEqual({ error: { code: "INVALID_ARGUMENT", message: "unknown option '--bogus'", field: "" } });
  });

  it("an unreachable server exits 5: one line, no stack trace unless --debug", async () => {
    const run = await runTq(["task", "get", "01a25191-0000-7000-8000-000000000000"], { server: "127.0.0.1:1" });
    expect(run).toMatchObject({ code: 5, stdout: "", stderr: "error: cannot reach 127.0.0.1:1: connection refused\n" });
    const json = await runTq(["--json", "queue", "list"], { server: "127.0.0.1:1" });
    expect(json.code).toBe(5);
    expect(json.json()).toEqual({ error: { code: "UNAVAILABLE", message: "cannot reach 127.0.0.1:1: connection refused", field: "" } });
    const debug = await runTq(["--debug", "--server", "127.0.0.1:1", "system", "health"]);
    expect(debug.code).toBe(5);
    expect(debug.stderr).toMatch(/^error: cannot reach 127\.0\.0\.1:1: connection refused\n.*ConnectError/s);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});

describe("tq on a terminal", () => {
  it("colours tables and states on a terminal, not with NO_COLOR, and shows a progress bar for --wait", async () => {
    const id = (await tq("task", "submit", "echo", '{"tty":true}', "--queue", served, "--wait")).stdout.split("\n")[0]!;
    const coloured = await runTqOnTerminal(["task", "list", "--queue", served, "--limit", "1"], { server: ts.grpcAddress, env: { NO_COLOR: "" } });
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain("\u001b[1mID\u001b[22m");
    const plain = await runTqOnTerminal(["task", "get", id], { server: ts.grpcAddress, env: { NO_COLOR: "1" } });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/State:\s+SUCCEEDED/);
    expect(plain.stdout).not.toMatch(/\u001b\[\d+m/);

    const waited = await runTqOnTerminal(["task", "submit", "sleep", '{"ms":600}', "--queue", served, "--wait"], { server: ts.grpcAddress, env: { NO_COLOR: "1" } });
    expect(waited.code).toBe(0);
    expect(waited.stdout).toMatch(/RUNNING \(attempt 1\/3\) \[[█░]+\] \d+%/);
    expect(waited.stdout).toContain('{"slept":600}');
  });
});
