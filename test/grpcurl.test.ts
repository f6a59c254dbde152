import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { createWorker, type Worker } from "../worker/index.js";
import { clientToolchains, type ClientToolchains } from "./support/client-toolchains.js";
import { readmeCommands, type ReadmeCommand } from "./support/readme-commands.js";
import { waitFor } from "./support/wait-for.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

/**
 * grpcurl (no proto files: server reflection) against a live server, running the commands
 * exactly as README.md shows them — only the address is the test server's — and comparing
 * their output with what README.md shows.
 */

const execFileAsync = promisify(execFile);
const README_ADDRESS = "localhost:50051";
/** Fields whose values differ from run to run, with the shape they must have. */
const VOLATILE: Record<string, RegExp> = {
  id: /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  createdAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  scheduledAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  startedAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  finishedAt: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  workerId: /^.+$/,
};

let ts: TestServer;
let tools: ClientToolchains;
let worker: Worker;
let commands: ReadmeCommand[];

beforeAll(async () => {
  [tools, ts, commands] = await Promise.all([clientToolchains(), startTestServer(), readmeCommands()]);
  // The README's tasks go to the queue "default", served by the example handlers.
  worker = createWorker({
    address: ts.grpcAddress,
    queues: ["default"],
    handlers: exampleHandlers(),
    logger: createLogger({ level: "silent" }),
  });
  await worker.start();
}, 60_000);

afterAll(async () => {
  await worker?.stop({ timeoutMs: 2_000 });
  await ts?.stop();
});

/** The README's grpcurl command whose line matches `pattern`. */
function readme(pattern: RegExp): ReadmeCommand {
  const found = commands.find((c) => c.argv[0] === "grpcurl" && pattern.test(c.line));
  if (!found) throw new Error(`README.md shows no grpcurl command matching ${pattern}`);
  return found;
}

/** Runs grpcurl with `args`, the README's address replaced by the test server's. */
async function grpcurl(args: string[]): Promise<string> {
  const argv = args.map((a) => (a === README_ADDRESS ? ts.grpcAddress : a));
  const { stdout } = await execFileAsync(join(tools.goBin, "grpcurl"), argv, { env: tools.env, timeout: 20_000 });
  return stdout.trim();
}

/** Replaces the values of volatile fields (checked against their shape) by a marker. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => {
      const shape = VOLATILE[key];
      if (shape && typeof v === "string") return [key, shape.test(v) ? `<${key}>` : `<bad ${key}: ${v}>`];
      return [key, stable(v)];
    }),
  );
}

describe("grpcurl, as README.md shows it", () => {
  it("lists the services", async () => {
    const command = readme(/ list$/);
    expect(await grpcurl(command.argv.slice(1))).toBe(command.output);
  });

  it("lists the same services on the gateway's h2c endpoint", async () => {
    const command = readme(/ list$/);
    const gateway = ts.httpBaseUrl.replace("http://", "");
    const argv = command.argv.slice(1).map((a) => (a === README_ADDRESS ? gateway : a));
    const { stdout } = await execFileAsync(join(tools.goBin, "grpcurl"), argv, { env: tools.env, timeout: 20_000 });
    expect(stdout.trim()).toBe(command.output);
    // describe works there too (the file descriptors, comments included, come through reflection).
    const { stdout: described } = await execFileAsync(
      join(tools.goBin, "grpcurl"),
      ["-plaintext", gateway, "describe", "taskqueue.v1.ClusterService.ListWorkers"],
      { env: tools.env, timeout: 20_000 },
    );
    expect(described).toMatch(/^\/\/ ListWorkers lists every connected worker session across all servers/m);
  });

  it("describes a method with its API comments", async () => {
    const command = readme(/ describe /);
    expect(await grpcurl(command.argv.slice(1))).toBe(command.output);
  });

  it("checks health", async () => {
    const command = readme(/Health\/Check$/);
    expect(await grpcurl(command.argv.slice(1))).toBe(command.output);
  });

  it("submits a task and gets it back once a worker ran it", async () => {
    const submit = readme(/TaskService\/SubmitTask$/);
    const submitted = JSON.parse(await grpcurl(submit.argv.slice(1))) as { task: { id: string } };
    expect(stable(submitted)).toEqual(stable(JSON.parse(submit.output)));

    // The round trip: GetTask with the same flags, the id of the submitted task.
    const getArgs = submit.argv
      .slice(1)
      .map((a) => (a.startsWith("{") ? JSON.stringify({ id: submitted.task.id }) : a.replace("/SubmitTask", "/GetTask")));
    const done = await waitFor(
      async () => {
        const got = JSON.parse(await grpcurl(getArgs)) as { task: { state: string; id: string } };
        return got.task.state === "TASK_STATE_SUCCEEDED" ? got : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: `task ${submitted.task.id} to be SUCCEEDED` },
    );
    expect(done.task.id).toBe(submitted.task.id);
    // README.md shows the same task fetched through the gateway once it ran.
    const shown = commands.find((c) => c.argv[0] === "curl" && c.line.includes("/GetTask") && c.output.includes('"hello"'));
    expect(shown, "README.md shows the echo task fetched with GetTask").toBeDefined();
    expect(stable(done)).toEqual(stable(JSON.parse(shown!.output)));
  });
});
