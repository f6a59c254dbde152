/**
 * Typed domain errors. The engine and services throw these; the transport edge maps them
 * to gRPC / Connect codes in one place ({@link toConnectError}).
 */

/** Base class of every domain error. */
export abstract class TaskQueueError extends Error {
  /** Stable code name, matching the gRPC status code it maps to. */
  abstract readonly code:
    | "INVALID_ARGUMENT"
    | "RESOURCE_EXHAUSTED"
    | "NOT_FOUND"
    | "FAILED_PRECONDITION"
    | "UNAVAILABLE"
    | "ALREADY_EXISTS";
  override get name(): string {
    return this.constructor.name;
  }
}

/** A request field is missing or malformed. */
export class InvalidArgumentError extends TaskQueueError {
  readonly code = "INVALID_ARGUMENT" as const;
  /**
   * @param field path of the offending field, e.g. "queue" or "tasks[3].payload"
   * @param problem what is wrong with it
   */
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/** A request is within the schema but over a configured size limit. */
export class ResourceExhaustedError extends TaskQueueError {
  readonly code = "RESOURCE_EXHAUSTED" as const;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * Postgres refused a value of the request as data (a NUL in text, a time out of range): the
 * request is at fault, and nothing of it was written. The edge validates what it knows
 * Postgres refuses; this answers what slipped past it, for the one caller concerned.
 */
export class UnstorableInputError extends TaskQueueError {
  readonly code = "INVALID_ARGUMENT" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The named entity does not exist. */
export class NotFoundError extends TaskQueueError {
  readonly code = "NOT_FOUND" as const;
}

/** The operation does not apply to the entity's current state. */
export class FailedPreconditionError extends TaskQueueError {
  readonly code = "FAILED_PRECONDITION" as const;
}

/** A dependency (Postgres, Redis) is not reachable or the server is draining. */
export class UnavailableError extends TaskQueueError {
  readonly code = "UNAVAILABLE" as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The entity to create already exists (e.g. a schedule id that is taken). */
export class AlreadyExistsError extends TaskQueueError {
  readonly code = "ALREADY_EXISTS" as const;
}
