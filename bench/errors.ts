/** Typed errors raised by the benchmark harness. */

/** Base class of every benchmark error. */
export class BenchError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command-line option is malformed or out of range; names the option. */
export class BenchOptionsError extends BenchError {
  /** The offending option, e.g. `--tasks`. */
  readonly option: string;

  constructor(option: string, problem: string) {
    super(`${option}: ${problem}`);
    this.option = option;
  }
}

/** Something the harness waited for did not happen before its deadline. */
export class BenchTimeoutError extends BenchError {
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** A child process (worker, producer, server) failed or exited early. */
export class ChildProcessError extends BenchError {}

/** A measurement contradicts what the run should have produced (lost or extra tasks). */
export class BenchVerificationError extends BenchError {}
