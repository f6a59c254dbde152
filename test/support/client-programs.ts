import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot, type ClientToolchains, type GoExamples } from "./client-toolchains.js";
import { ExampleProcess } from "./example-process.js";

const execFileAsync = promisify(execFile);

/** The languages with an example worker. */
export type WorkerLanguage = "go" | "python" | "ts";
/** The languages with an example producer program. */
export type ProducerLanguage = "go" | "python";

/** What the example programs need to run. */
export interface ClientPrograms {
  toolchains: ClientToolchains;
  go: GoExamples;
}

/** Options of {@link startExampleWorker}. */
export interface ExampleWorkerOptions {
  /** gRPC address, host:port. */
  server: string;
  /** Queue to serve. */
  queue: string;
  /** Worker identity (shows up as the tasks' worker_id). */
  workerId: string;
  /** Variables added to the toolchains' environment (e.g. OTEL_*). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the example worker of `language` (echo, sleep, fail; one JSON event per line):
 * the Go binary, `python3 -m taskqueue_client.examples.worker`, or the TypeScript SDK's
 * example handlers (test/support/ts-example-worker.ts).
 */
export function startExampleWorker(
  programs: ClientPrograms,
  language: WorkerLanguage,
  options: ExampleWorkerOptions,
): ExampleProcess {
  const { server, queue, workerId } = options;
  const spawnOptions = { cwd: repoRoot, env: { ...programs.toolchains.env, ...options.env } };
  switch (language) {
    case "go":
      return new ExampleProcess(`go worker ${workerId}`, programs.go.worker, ["-server", server, "-queues", queue, "-worker-id", workerId, "-log-level", "warn"], spawnOptions);
    case "python":
      return new ExampleProcess(
        `python worker ${workerId}`,
        "python3",
        ["-m", "taskqueue_client.examples.worker", "--server", server, "--queues", queue, "--worker-id", workerId, "--log-level", "WARNING"],
        spawnOptions,
      );
    case "ts":
      return new ExampleProcess(
        `ts worker ${workerId}`,
        process.execPath,
        ["--import", "tsx", join(repoRoot, "test/support/ts-example-worker.ts"), "--server", server, "--queues", queue, "--worker-id", workerId],
        spawnOptions,
      );
  }
}

/** A producer command's outcome: exit code and the JSON lines it printed. */
export interface ProducerRun {
  code: number;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/**
 * Runs one command of the example producer of `language` (`submit`, `batch`, `get`,
 * `list`, `cancel`, `wait`) with `flags` (named without dashes; `true` for a bare flag),
 * with `env` added to the toolchains' environment.
 */
export async function runProducer(
  programs: ClientPrograms,
  language: ProducerLanguage,
  command: string,
  flags: Record<string, string | number | true>,
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = {},
): Promise<ProducerRun> {
  const dash = language === "go" ? "-" : "--";
  const args = [command];
  for (const [name, value] of Object.entries(flags)) {
    args.push(`${dash}${name}`);
    if (value !== true) args.push(String(value));
  }
  const [file, argv] =
    language === "go" ? [programs.go.producer, args] : ["python3", ["-m", "taskqueue_client.examples.producer", ...args]];
  let stdout: string;
  let stderr: string;
  let code = 0;
  try {
    ({ stdout, stderr } = await execFileAsync(file, argv, { cwd: repoRoot, env: { ...programs.toolchains.env, ...env }, timeout: timeoutMs }));
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    stdout = failed.stdout ?? "";
    stderr = failed.stderr ?? String(error);
    code = typeof failed.code === "number" ? failed.code : -1;
  }
  const lines = stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, lines, stderr };
}

/** Outcome of a client's own test suite. */
export interface ClientTestRun {
  code: number;
  output: string;
}

/**
 * Runs the own tests of the Go client (`go test ./...` in clients/go) or the Python client
 * (`python3 -m unittest discover -s tests` in clients/python).
 */
export async function runClientTests(programs: ClientPrograms, language: ProducerLanguage): Promise<ClientTestRun> {
  const [file, args, dir] =
    language === "go"
      ? ["go", ["test", "-count=1", "./..."], "clients/go"]
      : ["python3", ["-m", "unittest", "discover", "-s", "tests"], "clients/python"];
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      cwd: join(repoRoot, dir),
      env: programs.toolchains.env,
      timeout: 240_000,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : -1, output: `${failed.stdout ?? ""}${failed.stderr ?? String(error)}` };
  }
}
