import type http from "node:http";
import type http2 from "node:http2";

/** Outcome of a readiness check: overall verdict and one line per dependency. */
export interface Readiness {
  /** True when the server can take traffic. */
  ok: boolean;
  /** Per dependency status, e.g. `{ postgres: "ok", redis: "connection refused" }`. */
  checks: Record<string, string>;
}

/** Options for {@link handleProbes}. */
export interface ProbeOptions {
  /** Checks readiness; a throw or a miss of the deadline counts as not ready. */
  ready: () => Promise<Readiness>;
  /** Deadline of one readiness check. */
  readyTimeoutMs: number;
}

/**
 * Answers `GET /healthz` (liveness: 200 `{"status":"ok"}` while the process runs) and
 * `GET /readyz` (readiness: 200 or 503 with the checks as JSON). Returns false for any
 * other request.
 */
export function handleProbes(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  options: ProbeOptions,
): boolean {
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
      sendJson(res, readiness.ok ? 200 : 503, {
        status: readiness.ok ? "ok" : "unavailable",
        checks: readiness.checks,
      });
    });
    return true;
  }
  return false;
}

/** Runs the readiness check under its deadline; never rejects. */
async function checkReadiness(options: ProbeOptions): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Readiness>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, checks: { ready: `no answer within ${options.readyTimeoutMs} ms` } }),
      options.readyTimeoutMs,
    );
  });
  try {
    return await Promise.race([options.ready(), deadline]);
  } catch (error) {
    return { ok: false, checks: { ready: error instanceof Error ? error.message : String(error) } };
  } finally {
    clearTimeout(timer);
  }
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
