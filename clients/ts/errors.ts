import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";

/**
 * Why the server refused one item of a `submitTasks` batch (nothing was written for it). A
 * `ConnectError` (its `name` too) like the errors of whole calls: `code` is the code the
 * server named, `rawMessage` its message (which starts with the field), and `field` the path
 * of the offending field, e.g. `tasks[3].queue`.
 */
export class SubmitItemError extends ConnectError {
  /** Path of the offending field, e.g. `tasks[3].queue`; empty when the server named none. */
  readonly field: string;

  /** `codeName` is the gRPC code name the server sent, e.g. "INVALID_ARGUMENT". */
  constructor(codeName: string, message: string, field: string) {
    super(message, codeOfName(codeName));
    this.field = field;
  }

  /**
   * `instanceof SubmitItemError` holds for these errors only: the check inherited from
   * ConnectError would accept any ConnectError. (`instanceof ConnectError` holds for them.)
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(SubmitItemError, value);
  }
}

/** The error of a batch item the server answered with neither a task nor an error. */
export function missingOutcomeError(): SubmitItemError {
  return new SubmitItemError("UNKNOWN", "the server answered this item with neither a task nor an error", "");
}

/** An option of `createTaskClient` is missing or wrong; `option` names it. */
export class TaskClientOptionsError extends Error {
  override name = "TaskClientOptionsError";

  constructor(
    /** The option, e.g. "address". */
    readonly option: string,
    problem: string,
  ) {
    super(`${option}: ${problem}`);
  }
}

/** The Connect code of a gRPC code name ("RESOURCE_EXHAUSTED"); `Unknown` for a name it does not know. */
function codeOfName(name: string): Code {
  return codeFromString(name.toLowerCase()) ?? Code.Unknown;
}
