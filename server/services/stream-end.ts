import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Why a worker stream ended, in a few words for the attempts it loses: the status it ended
 * with (`CANCELED: operation was cancelled by the client` when the worker cancelled it or its
 * connection dropped, `INVALID_ARGUMENT: …` when the server refused a message, …), or the
 * error's message.
 */
export function describeStreamEnd(reason: unknown): string {
  if (reason instanceof ConnectError) return `${codeName(reason.code)}: ${reason.rawMessage}`;
  if (reason instanceof Error) return reason.message || reason.name;
  return reason === undefined ? "the stream closed" : String(reason);
}

/** The gRPC name of a code, e.g. `INVALID_ARGUMENT`. */
function codeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
