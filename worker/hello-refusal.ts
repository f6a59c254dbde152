import { Code, ConnectError } from "@connectrpc/connect";
import type { SessionEnd } from "./session.js";

/**
 * Codes with which a server refuses a hello that can never be accepted as it is: a bad
 * queue name, a capacity above the server's `MAX_WORKER_CAPACITY`, a refused `worker_id`,
 * a rule of the server the SDK does not check. Sending the same hello again cannot succeed.
 */
const REFUSAL_CODES: ReadonlySet<Code> = new Set([Code.InvalidArgument, Code.FailedPrecondition]);

/**
 * The server's error when `end` is a refused hello — the stream failed with
 * INVALID_ARGUMENT or FAILED_PRECONDITION before any welcome — else undefined. The worker
 * stops on a refusal instead of reconnecting; every other end (UNAVAILABLE, a transport
 * error, a stream the server ended, a silent server) is retried.
 */
export function helloRefusal(end: SessionEnd): ConnectError | undefined {
  if (end.welcomed || end.reason !== "failed") return undefined;
  const { error } = end;
  if (!(error instanceof ConnectError) || !REFUSAL_CODES.has(error.code)) return undefined;
  return error;
}
