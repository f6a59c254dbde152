import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../server/observability/logger.js";
import { startPostgresProcess } from "../tools/local-services/postgres-process.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { runTq, runTqOnTerminal } from "./support/cli.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * `tq queue …`, `tq worker|server|system …`, `tq dlq …` and `tq completion` run as a real
 * process (the built bin/tq.js) against a real server, --json documents checked, and
 * `system health` with Postgres stopped.
 */

let ts: TestServer;
const tq = (...args: string[]) => runTq(args, { server: ts.grpcAddress });
const version = (await import("../package.json", { with: { type: "json" } })).default.version;

beforeAll(async () => {
  ts = await startTestServer();
});

afterAll(async () => {
  await ts?.stop();
});

describe("tq queue", () => {
  it("lists queues and shows their stats; pause, resume and set change them", async () => {
    const queue = uniqueQueue("cli-queue");
    for (let i = 0; i < 2; i++) await tq("task", "submit", "send", "--queue", queue);

    const list = await tq("--json", "queue", "list");
    expect(list.code).toBe(0);
    const listed = list.json().queues.find((q: { name: string }) => q.name === queue);
    expect(listed).toMatchObject({ name: queue, paused: false, counts: { queued: "2", scheduled: "0", running: "0", dead: "0" } });
    const table = await tq("queue", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+STATE\s+QUEUED\s+SCHEDULED\s+RUNNING\s+DEAD\s+WORKERS$/);
    expect(table.stdout).toMatch(new RegExp(`^${queue}\\s+active\\s+2\\s+0\\s+0\\s+0\\s+0$`, "m"));

    const stats = await tq("--json", "queue", "stats", queue);
    expect(stats.code).toBe(0);
    expect(stats.json().queue).toMatchObject({ name: queue, counts: { queued: "2" }, settings: { maxAttempts: 3, initialBackoff: "1s" } });
    expect(stats.json().queue.oldestQueuedAge).toMatch(/s$/);
    const all = await tq("queue", "stats");
    expect(all.stdout.split("\n")[0]).toMatch(/^NAME\s+QUEUED\s+SCHEDULED\s+RUNNING\s+DEAD\s+LAG\s+DONE\/MIN\s+FAILED\/MIN\s+DONE\/MIN 15M\s+WORKERS/);
    const detail = await tq("queue", "stats", queue);
    expect(detail.stdout).toMatch(/^Tasks:\s+2 queued, 0 scheduled, 0 running, 0 dead$/m);
    expect(detail.stdout).toMatch(/^Keep finished:\s+7d$/m);

    const paused = await tq("--json", "queue", "pause", queue, "--reason", "provider outage");
    expect(paused.code).toBe(0);
    expect(paused.json().queue).toMatchObject({ name: queue, paused: true, pauseReason: "provider outage" });
    expect((await tq("queue", "list")).stdout).toMatch(new RegExp(`^${queue}\\s+paused\\s`, "m"));
    const resumed = await tq("queue", "resume", queue);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^State: active$/m);

    const set = await tq("--json", "queue", "set", queue, "--max-attempts", "5", "--initial-backoff", "2s", "--max-backoff", "10m", "--backoff-multiplier", "3", "--default-priority", "high", "--default-timeout", "90s");
    expect(set.code).toBe(0);
    expect(set.json().queue.settings).toMatchObject({ maxAttempts: 5, initialBackoff: "2s", maxBackoff: "600s", backoffMultiplier: 3, defaultPriority: 90, defaultTimeout: "90s" });
    // New tasks take the queue's defaults.
    const task = (await tq("--json", "task", "submit", "send", "--queue", queue)).json().task;
    expect(task).toMatchObject({ priority: 90, maxAttempts: 5, timeout: "90s" });
    // "default" puts a setting back to the server's.
    const reset = await tq("--json", "queue", "set", queue, "--max-attempts", "default", "--default-timeout", "default");
    expect(reset.json().queue.settings).toMatchObject({ maxAttempts: 3, defaultPriority: 90 });
    expect(reset.json().queue.settings.defaultTimeout).toBeUndefined();
    // Retention per queue: 0s keeps forever; "default" goes back to the server's.
    const kept = await tq("--json", "queue", "set", queue, "--finished-retention", "1h", "--dead-retention", "0s");
    expect(kept.code).toBe(0);
    expect(kept.json().queue.settings).toMatchObject({ finishedRetention: "3600s", deadRetention: "0s" });
    const serverRetention = await tq("--json", "queue", "set", queue, "--finished-retention", "default");
    expect(serverRetention.json().queue.settings).toMatchObject({ deadRetention: "0s" });
    expect(serverRetention.json().queue.settings.finishedRetention).not.toBe("3600s");
    // Dispatch limits: a concurrency limit and a rate, shown by queue stats; "default" lifts them.
    const limited = await tq("--json", "queue", "set", queue, "--max-concurrency", "5", "--rate", "100/s", "--max-per-key", "2");
    expect(limited.code).toBe(0);
    expect(limited.json().queue.settings).toMatchObject({ maxConcurrency: 5, rateLimit: { limit: 100, period: "1s" }, maxConcurrencyPerKey: 2 });
    const shown = await tq("queue", "stats", queue);
    expect(shown.stdout).toMatch(/^Max concurrency:\s+5$/m);
    expect(shown.stdout).toMatch(/^Max per key:\s+2$/m);
    expect(shown.stdout).toMatch(/^Held back:\s+none$/m);
    expect(shown.stdout).toMatch(/^Rate limit:\s+100 per 1s$/m);
    const badRate = await tq("queue", "set", queue, "--rate", "fast");
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toMatch(/--rate/);
    const lifted = await tq("--json", "queue", "set", queue, "--max-concurrency", "default", "--rate", "default", "--max-per-key", "default");
    expect(lifted.json().queue.settings.maxConcurrency ?? 0).toBe(0);
    expect(lifted.json().queue.settings.maxConcurrencyPerKey ?? 0).toBe(0);
    expect(lifted.json().queue.settings.rateLimit).toBeUndefined();
  });

  it("exits 3 for an unknown queue and 2 for bad settings, naming the field", async () => {
    const missing = await tq("queue", "stats", uniqueQueue("nothing"));
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^error: NOT_FOUND: queue "nothing-\w+" not found$/m);
    const local = await tq("queue", "set", "q", "--max-attempts", "0");
    expect(local.code).toBe(2);
    expect(local.stderr).toMatch(/^error: --max-attempts: must be an integer from 1 to 100/);
    const server = await tq("--json", "queue", "set", "q", "--initial-backoff", "2d");
    expect(server.code).toBe(2);
    expect(server.json().error).toMatchObject({ code: "INVALID_ARGUMENT", field: "settings.initial_backoff" });
    const nothing = await tq("queue", "set", "q");
    expect(nothing.code).toBe(2);
    const badName = await tq("--json", "queue", "pause", "no spaces");
    expect(badName.code).toBe(2);
    expect(badName.json().error.code).toBe("INVALID_ARGUMENT");
  });
});

describe("tq worker, server, system", () => {
  it("lists the connected workers and the live servers, and reports the system serving", async () => {
    const queue = uniqueQueue("cli-workers");
    const worker: Worker = createWorker({
      address: ts.grpcAddress,
      queues: [queue],
      workerId: "cli-test-worker",
      handlers: exampleHandlers(),
      logger: createLogger({ level: "silent" }),
    });
    await worker.start();
    try {
      const workers = await waitFor(
        async () => {
          const run = await tq("--json", "worker", "list", "--queue", queue);
          return run.json().workers.length === 1 ? run.json().workers : undefined;
        },
        { timeoutMs: 10_000, message: "the worker to be listed" },
      );
      expect(workers[0]).toMatchObject({ workerId: "cli-test-worker", queues: [queue], serverId: ts.server.serverId, sdkName: "taskqueue-ts", inFlight: 0, draining: false });
      const table = await tq("worker", "list", "--queue", queue);
      expect(table.stdout).toMatch(/^WORKER\s+QUEUES\s+BUSY\/SLOTS\s+SDK\s+SERVER\s+CONNECTED\s+HEARTBEAT\s+STATE$/m);
      expect(table.stdout).toMatch(new RegExp(`^cli-test-worker\\s+${queue}\\s+0/\\d+\\s+taskqueue-ts`, "m"));
      const empty = await tq("worker", "list", "--queue", uniqueQueue("nobody"));
      expect(empty).toMatchObject({ code: 0, stdout: "", stderr: "no workers connected\n" });
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }

    const servers = await tq("--json", "server", "list");
    expect(servers.code).toBe(0);
    expect(servers.json().servers).toEqual([expect.objectContaining({ serverId: ts.server.serverId, address: ts.grpcAddress, version, draining: false })]);
    expect((await tq("server", "list")).stdout).toMatch(new RegExp(`^${ts.server.serverId.replace(/[/]/g, "\\/")}\\s+${ts.grpcAddress}`, "m"));

    const health = await tq("--json", "system", "health");
    expect(health.code).toBe(0);
    expect(health.json()).toMatchObject({
      status: "SYSTEM_STATUS_SERVING",
      postgres: { status: "DEPENDENCY_STATUS_OK" },
      redis: { status: "DEPENDENCY_STATUS_OK" },
      serverId: ts.server.serverId,
    });
    const human = await tq("system", "health");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Status:\s+SERVING$/m);
  });

  it("system health exits 1 while Postgres is stopped, and 0 once it is back", async () => {
    const postgres = await startPostgresProcess({ fsync: false });
    const server = await startTestServer({ databaseUrl: postgres.url });
    try {
      expect((await runTq(["system", "health"], { server: server.grpcAddress })).code).toBe(0);
      await postgres.kill("SIGKILL");
      const down = await runTq(["--json", "system", "health"], { server: server.grpcAddress });
      expect(down.code).toBe(1);
      expect(down.json()).toMatchObject({ status: "SYSTEM_STATUS_NOT_SERVING", postgres: { status: "DEPENDENCY_STATUS_UNAVAILABLE" }, redis: { status: "DEPENDENCY_STATUS_OK" } });
      const human = await runTq(["system", "health"], { server: server.grpcAddress });
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^Status:\s+NOT_SERVING$/m);
      expect(human.stdout).toMatch(/^Postgres:\s+UNAVAILABLE$/m);
      await postgres.restart();
      await waitFor(async () => (await runTq(["system", "health"], { server: server.grpcAddress })).code === 0, {
        timeoutMs: 20_000,
        intervalMs: 200,
        message: "system health to exit 0 once Postgres is back",
      });
    } finally {
      await server.stop();
      await postgres.stop();
    }
  }, 90_000);
});

describe("tq dlq", () => {
  it("lists dead tasks, re-drives them by id and by queue, and purges them", async () => {
    const queue = uniqueQueue("cli-dlq");
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await worker.start();
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const run = await tq("--json", "task", "submit", "fail", '{"times":100,"retryable":false}', "--queue", queue, "--wait");
        expect(run.code).toBe(1);
        ids.push(run.json().task.id);
      }
    } finally {
      await worker.stop({ timeoutMs: 2_000 });
    }
    const list = await tq("--json", "dlq", "list", "--queue", queue);
    expect(list.code).toBe(0);
    expect(new Set(list.json().tasks.map((t: { id: string }) => t.id))).toEqual(new Set(ids));
    expect(list.json().tasks[0]).toMatchObject({ state: "TASK_STATE_DEAD", lastError: { type: "PlannedFailure", nonRetryable: true } });
    const table = await tq("dlq", "list", "--queue", queue);
    expect(table.stdout.split("\n")[0]).toMatch(/LAST ERROR$/);
    expect(table.stdout).toContain("PlannedFailure: failing attempt 1 of 100 on purpose");

    const unknown = "01a25191-0000-7000-8000-000000000000";
    const byId = await tq("--json", "dlq", "redrive", ids[0]!, unknown);
    expect(byId.code).toBe(0);
    expect(byId.json()).toMatchObject({ tasks: [{ id: ids[0], state: "TASK_STATE_QUEUED" }], skippedIds: [unknown] });
    const byQueue = await tq("dlq", "redrive", "--queue", queue);
    expect(byQueue.code).toBe(0);
    expect(byQueue.stdout.trim().split("\n").sort()).toEqual(ids.slice(1).sort());
    expect(byQueue.stderr).toContain("re-drove 2 tasks, skipped 0");

    // Dead again (no worker now: cancel nothing, purge needs DEAD tasks): make them dead through a worker run.
    const again = createWorker({ address: ts.grpcAddress, queues: [queue], handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    await again.start();
    try {
      await waitFor(async () => (await tq("--json", "dlq", "list", "--queue", queue)).json().tasks.length === 3, {
        timeoutMs: 15_000,
        message: "the re-driven tasks to be dead again",
      });
    } finally {
      await again.stop({ timeoutMs: 2_000 });
    }

    // A purge without --yes on a non-terminal stdin is refused; nothing is deleted.
    const unconfirmed = await tq("dlq", "purge", "--queue", queue);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/^error: --yes: stdin is not a terminal/);
    // On a terminal it asks: "n" keeps the task (exit 1), "y" purges it.
    const declined = await runTqOnTerminal(["dlq", "purge", ids[0]!], { server: ts.grpcAddress, input: "n\n" });
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain("Delete 1 dead task for good? [y/N]");
    expect(declined.stdout).toContain("nothing purged");
    expect((await tq("--json", "dlq", "list", "--queue", queue)).json().tasks).toHaveLength(3);
    const confirmed = await runTqOnTerminal(["dlq", "purge", ids[0]!], { server: ts.grpcAddress, input: "y\n" });
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toContain("purged 1 task");
    const none = await tq("--json", "dlq", "purge", ids[0]!, "--yes");
    expect(none.json()).toEqual({ purged: "0" });
    const rest = await tq("dlq", "purge", "--queue", queue, "--before", "2099-01-01T00:00:00Z", "--yes");
    expect(rest).toMatchObject({ code: 0, stdout: "purged 2 tasks\n" });
    expect((await tq("--json", "dlq", "list", "--queue", queue)).json().tasks).toEqual([]);
    const neither = await tq("dlq", "redrive");
    expect(neither.code).toBe(2);
    expect(neither.stderr).toBe("error: ID: give task ids or --queue\n");
  }, 60_000);
});

describe("tq help, version, completion", () => {
  it("prints help with the exit codes on every level, and the version", async () => {
    const help = await runTq(["--help"]);
    expect(help.code).toBe(0);
    for (const group of ["task", "queue", "worker", "server", "system", "dlq", "schedule", "token", "audit", "completion"]) expect(help.stdout).toMatch(new RegExp(`^  ${group}\\b`, "m"));
    expect(help.stdout).toContain("Exit codes:");
    const submit = await runTq(["task", "submit", "--help"]);
    expect(submit.code).toBe(0);
    expect(submit.stdout).toContain("high (90), normal (50), low (10) or 0-100");
    expect((await runTq(["--version"])).stdout.trim()).toBe(version);
    const unknown = await runTq(["tsak"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("(Did you mean task?)");
  });

  it("generates bash and zsh completion scripts that complete the command tree", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tq-completion-"));
    try {
      const bash = await runTq(["completion", "bash"]);
      expect(bash.code).toBe(0);
      const script = join(dir, "tq.bash");
      await writeFile(script, bash.stdout);
      const complete = async (...words: string[]) => {
        const cword = words.length - 1;
        const program = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${cword}; _tq; echo "\${COMPREPLY[*]}"`;
        return (await promisify(execFile)("bash", ["-c", program])).stdout.trim();
      };
      expect(await complete("tq", "")).toBe("task queue worker server system dlq schedule token audit completion");
      expect(await complete("tq", "task", "sub")).toBe("submit submit-batch");
      expect(await complete("tq", "--json", "queue", "set", "emails", "--max-")).toBe("--max-attempts --max-backoff --max-concurrency --max-per-key --max-payload");
      expect((await complete("tq", "task", "submit", "--")).split(" ")).toEqual(expect.arrayContaining(["--queue", "--wait", "--server", "--json"]));

      const zsh = await runTq(["completion", "zsh"]);
      expect(zsh.code).toBe(0);
      expect(zsh.stdout.split("\n")[0]).toBe("#compdef tq");
      expect(zsh.stdout).toContain("'submit:submit one task and print its id");
      const bad = await runTq(["completion", "fish"]);
      expect(bad.code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
