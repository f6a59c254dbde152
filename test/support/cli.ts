import { spawn } from "node:child_process";
import { join } from "node:path";
import { repositoryRoot } from "./node-process.js";

/** The built `tq` binary (test/support/build-cli.ts builds it before the run). */
export const TQ_BIN = join(repositoryRoot, "bin", "tq.js");

/** What one run of `tq` printed and how it exited. */
export interface TqRun {
  /** Exit code. */
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document. */
  json<T = any>(): T;
}

/** Options of {@link runTq}. */
export interface TqRunOptions {
  /** `TQ_SERVER` of the run (host:port). */
  server?: string;
  /** Written to its stdin, then closed. */
  input?: string;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
}

/** Runs the real `tq` binary as a child process (`node bin/tq.js ARGS`) and waits for it to exit. */
export function runTq(args: readonly string[], options: TqRunOptions = {}): Promise<TqRun> {
  return run(process.execPath, [TQ_BIN, ...args], options);
}

/**
 * Runs `tq` on a terminal: under util-linux `script`, which gives it a pseudo-terminal as
 * stdin, stdout and stderr; `stdout` then holds both streams as the terminal showed them.
 */
export function runTqOnTerminal(args: readonly string[], options: TqRunOptions = {}): Promise<TqRun> {
  const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, TQ_BIN, ...args].map(quote).join(" ");
  return run("script", ["-qec", command, "/dev/null"], options);
}

function run(file: string, argv: readonly string[], options: TqRunOptions): Promise<TqRun> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    if (options.server !== undefined) env.TQ_SERVER = options.server;
    const child = spawn(file, argv, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.stdin.end(options.input ?? "");
    child.on("close", (code, signal) => {
      const run: TqRun = {
        code: code ?? (signal ? 128 : -1),
        stdout,
        stderr,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`${argv.join(" ")}: stdout is not one JSON document (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
          }
        },
      };
      resolve(run);
    });
  });
}
