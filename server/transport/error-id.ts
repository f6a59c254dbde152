import { randomBytes } from "node:crypto";

/**
 * Response metadata (gRPC trailer, Connect error metadata) carrying the id of an unexpected
 * error: the client sees only INTERNAL "internal error" and this id; the server's log has the
 * error with the same `errorId`, so an operator can find it without anything internal (SQL,
 * Redis keys, stack traces) reaching the client.
 */
export const ERROR_ID_KEY = "x-error-id";

/** A new error id, e.g. `e-3f9a1c0d2b7e`. */
export function newErrorId(): string {
  return `e-${randomBytes(6).toString("hex")}`;
}
