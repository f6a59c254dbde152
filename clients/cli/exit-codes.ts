/**
 * The exit codes of `tq`, one per failure class, so scripts can tell them apart. `tq --help`
 * and the README list them.
 */
export const EXIT = {
  /** The command did what was asked. */
  ok: 0,
  /**
   * The command ran but its outcome is a failure: a waited-for task ended DEAD, CANCELLED
   * or EXPIRED; `system health` found the system not serving; some lines of `submit-batch`
   * were refused; a purge was not confirmed.
   */
  failed: 1,
  /** Bad input: unknown command or option, a bad value, or INVALID_ARGUMENT from the server. */
  invalid: 2,
  /** NOT_FOUND: the task or queue does not exist. */
  notFound: 3,
  /** FAILED_PRECONDITION or ALREADY_EXISTS: the request does not fit the current state (e.g. cancelling a finished task). */
  conflict: 4,
  /** The server could not be reached or did not answer (UNAVAILABLE, DEADLINE_EXCEEDED). */
  unreachable: 5,
  /** UNAUTHENTICATED or PERMISSION_DENIED. */
  denied: 6,
  /** Any other server error (INTERNAL, RESOURCE_EXHAUSTED, UNKNOWN, ...). */
  serverError: 7,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** The exit-code table shown by `tq --help`. */
export const EXIT_CODES_HELP = `Exit codes:
  0    success
  1    the command ran but its outcome is a failure (a waited-for task ended DEAD,
       CANCELLED or EXPIRED; system not serving; refused lines in submit-batch)
  2    bad input: usage error, bad value, or INVALID_ARGUMENT from the server
  3    NOT_FOUND
  4    FAILED_PRECONDITION / ALREADY_EXISTS (e.g. cancelling a finished task)
  5    server unreachable or not answering (UNAVAILABLE, DEADLINE_EXCEEDED)
  6    UNAUTHENTICATED / PERMISSION_DENIED
  7    other server error (INTERNAL, RESOURCE_EXHAUSTED, ...)
  130  interrupted`;
