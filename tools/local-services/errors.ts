/**
 * Typed errors raised by the local service launchers (Redis, Postgres, PGlite) used by
 * tests, benchmarks and `npm run dev`.
 */

/** Base class of every error raised by the local service launchers. */
export class LocalServiceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A required executable (redis-server, initdb, postgres, …) could not be found. */
export class BinaryNotFoundError extends LocalServiceError {
  /** The executable that was looked for, e.g. `redis-server`. */
  readonly binary: string;

  constructor(binary: string, message: string) {
    super(message);
    this.binary = binary;
  }
}

/** A service process failed to start, exited early, or did not become ready in time. */
export class ServiceStartError extends LocalServiceError {
  /** The service name, e.g. `redis` or `postgres`. */
  readonly service: string;
  /** The last lines the process printed, to explain the failure. */
  readonly output: readonly string[];

  constructor(service: string, message: string, output: readonly string[] = [], options?: ErrorOptions) {
    super(
      output.length > 0 ? `${service}: ${message}\n--- last output ---\n${output.join("\n")}` : `${service}: ${message}`,
      options,
    );
    this.service = service;
    this.output = output;
  }
}

/** An operation was attempted in a state that does not allow it (e.g. restart after stop). */
export class ServiceStateError extends LocalServiceError {}

/** A process did not exit (or change state) within its deadline after a signal. */
export class ProcessTimeoutError extends LocalServiceError {}
