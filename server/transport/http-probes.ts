import type http from "node:http";
import type http2 from "node:http2";
import type { Logger } from "../observability/logger.js";

/**
 * State of one dependency as `/readyz` shows it: a word, never an address or an error
 * message (the probe answers anyone who can reach the port).
 */
export type CheckState = "ok" | "unavailable" | "draining" | "timeout";

/** Outcome of a readiness check: overall verdict and one state per dependency. */
export interface Readiness {
  /** True when the server can take traffic. */
  ok: boolean;
  /** State per dependency, e.g. `{ postgres: "ok", redis: "unavailable" }`. */
  checks: Record<string, CheckState>;
  /** Why each failing dependency failed: logged by the probe, never sent. */
  errors?: Record<string, unknown>;
}

/** Options for {@link createProbeHandler}. */
export interface ProbeOptions {
  /** Checks readiness; a throw or a miss of the deadline counts as not ready. */
  ready: () => Promise<Readiness>;
  /** Deadline of one readiness check. */
  readyTimeoutMs: number;
  /** Where the details of a failed check go. */
  logger: Logger;
}

/** Answers the probe routes; returns false for any other request. */
export type ProbeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => boolean;

/**
 * Answers `GET /healthz` (liveness: 200 `{"status":"ok"}` while the process runs) and
 * `GET /readyz` (readiness: 200 or 503 with each dependency's state as JSON). The details
 * of a failed check (error messages, which may name internal addresses) are logged: at
 * warn level when the set of failing checks changes, at debug level while it stays the same.
 */
export function createProbeHandler(options: ProbeOptions): ProbeHandler {
  let lastLogged = "";
  const log = (readiness: Readiness): void => {
    if (readiness.ok) {
      lastLogged = "";
      return;
    }
    const signature = JSON.stringify(readiness.checks);
    const level = signature === lastLogged ? "debug" : "warn";
    lastLogged = signature;
    options.logger[level]({ checks: readiness.checks, errors: describeErrors(readiness.errors) }, "not ready");
  };
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return false;
    }
    const path = (req.url ?? "").split("?", 1)[0];
    if (path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
      return true;
    }
    if (path === "/readyz") {
      void checkReadiness(options).then((readiness) => {
        log(readiness);
        sendJson(res, readiness.ok ? 200 : 503, {
          status: readiness.ok ? "ok" : "unavailable",
          checks: readiness.checks,
        });
      });
      return true;
    }
    return false;
  };
}

/** Runs the readiness check under its deadline; never rejects. */
async function checkReadiness(options: ProbeOptions): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Readiness>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, checks: { ready: "timeout" }, errors: { ready: `no answer within ${options.readyTimeoutMs} ms` } }),
      options.readyTimeoutMs,
    );
  });
  try {
    return await Promise.race([options.ready(), deadline]);
  } catch (error) {
    return { ok: false, checks: { ready: "unavailable" }, errors: { ready: error } };
  } finally {
    clearTimeout(timer);
  }
}

/** Error messages by check, for the log. */
function describeErrors(errors: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!errors) return undefined;
  const described: Record<string, string> = {};
  for (const [name, error] of Object.entries(errors)) {
    described[name] = error instanceof Error ? error.message : String(error);
  }
  return described;
}

function sendJson(res: http.ServerResponse | http2.Http2ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded) {
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
