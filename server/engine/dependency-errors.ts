/** Postgres SQLSTATE classes and codes that mean "the database cannot serve now". */
const UNAVAILABLE_SQLSTATES = /^(08|53|57P0[1-4])/;

/** Node socket errors that mean the peer is down or unreachable. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/**
 * Which dependency an error says is unreachable: "postgres", "redis", or undefined when the
 * error is something else. Used at the edge to answer UNAVAILABLE (retry later) instead of
 * INTERNAL when Postgres or Redis is down or restarting.
 */
export function unavailableDependency(error: unknown): "postgres" | "redis" | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const message = e.message ?? "";
    if (e.name === "MaxRetriesPerRequestError" || /Connection is closed|Stream isn't writeable|LOADING/.test(message)) {
      return "redis";
    }
    if (typeof code === "string" && UNAVAILABLE_SQLSTATES.test(code)) return "postgres";
    if (/Connection terminated|timeout exceeded when trying to connect|the database system is|Query read timeout/.test(message)) {
      return "postgres";
    }
    if (typeof code === "string" && NETWORK_CODES.has(code)) {
      const port = (e as { port?: number }).port;
      return port === 6379 || /redis/i.test(e.stack ?? "") ? "redis" : "postgres";
    }
  }
  return undefined;
}
