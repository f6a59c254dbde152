import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../observability/logger.js";
import { contentTypeOf } from "./content-types.js";
import type { GatewayRequest, GatewayResponse } from "./http-gateway.js";

/** The package root, against which a relative static directory is resolved. */
export const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Files under this URL prefix are content-hashed by the build: cached for a year, immutable. */
const HASHED_PREFIX = "/assets/";

/** An `accept-encoding` that takes gzip (q=0 is not looked at: no browser sends it for gzip). */
const ACCEPTS_GZIP = /\bgzip\b/i;

/**
 * Headers of every served file: the dashboard loads only its own scripts and styles, calls only
 * its own origin, and cannot be framed (its buttons purge and cancel). Payloads it shows are
 * inserted as text, and this keeps it so even if a bug did otherwise.
 */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/** Options for {@link createStaticFileHandler}. */
export interface StaticFileOptions {
  /** Directory served at `/`; a relative path resolves against the package root. */
  root: string;
  /** The command that builds the directory, named in the 503 page when it is missing. */
  buildCommand: string;
  /** Where unexpected read errors go. */
  logger: Logger;
}

/** Answers a GET or HEAD request for a static file; false when it is not one (another route's). */
export type StaticFileHandler = (req: GatewayRequest, res: GatewayResponse) => boolean;

/**
 * Serves a built single-page application: files by path with their content type, `/assets/*`
 * (content-hashed names) as immutable for a year, everything else `no-cache` with an ETag, all
 * under a strict content security policy, gzipped when the build left a `.gz` twin, and
 * `index.html` for any other path (deep links). A path that decodes to a `..` segment, a
 * backslash or a NUL byte is refused with 400 before touching the file system, and a resolved
 * path must stay inside the root. When the directory has no `index.html` (not built yet), every
 * page answers 503 with an HTML message naming the build command. Only GET and HEAD are handled.
 */
export function createStaticFileHandler(options: StaticFileOptions): StaticFileHandler {
  const root = path.resolve(packageRoot, options.root);
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const urlPath = (req.url ?? "/").split("?", 1)[0]!;
    void serve(root, urlPath, req, res, options).catch((error: unknown) => {
      options.logger.error({ err: error, url: req.url }, "static files: request failed");
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
    return true;
  };
}

async function serve(root: string, urlPath: string, req: GatewayRequest, res: GatewayResponse, options: StaticFileOptions): Promise<void> {
  const relative = safeRelativePath(urlPath);
  if (relative === undefined) {
    send(res, 400, "text/plain; charset=utf-8", "bad path\n");
    return;
  }
  const index = path.join(root, "index.html");
  const indexStats = await fileStats(index);
  if (!indexStats) {
    send(res, 503, "text/html; charset=utf-8", missingBuildPage(options.buildCommand));
    return;
  }
  const file = path.join(root, relative);
  if (file !== root && !file.startsWith(root + path.sep)) {
    send(res, 400, "text/plain; charset=utf-8", "bad path\n");
    return;
  }
  const stats = relative === "" ? undefined : await fileStats(file);
  if (stats) {
    await sendFile(req, res, file, stats, urlPath.startsWith(HASHED_PREFIX));
    return;
  }
  if (urlPath.startsWith(HASHED_PREFIX)) {
    send(res, 404, "text/plain; charset=utf-8", "not found\n");
    return;
  }
  // Deep links (/queues/x, /tasks/id) are the application's: it routes them itself.
  await sendFile(req, res, index, indexStats, false);
}

/**
 * The URL path as a path relative to the root ("" for `/`), or undefined when it is not a
 * plain path: undecodable, or with a `..` or `.` segment, a backslash or a NUL byte.
 */
export function safeRelativePath(urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith("/") || decoded.includes("\\") || decoded.includes("\0")) return undefined;
  const segments = decoded.slice(1).split("/");
  if (segments.some((s) => s === ".." || s === ".")) return undefined;
  return segments.filter((s) => s !== "").join("/");
}

async function fileStats(file: string): Promise<Stats | undefined> {
  try {
    const stats = await stat(file);
    return stats.isFile() ? stats : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends a file, or its gzipped twin (`FILE.gz`, written by the build) to a client that accepts
 * gzip; answers 304 to a matching ETag.
 */
async function sendFile(req: GatewayRequest, res: GatewayResponse, file: string, stats: Stats, immutable: boolean): Promise<void> {
  const gzipped = ACCEPTS_GZIP.test(String(req.headers["accept-encoding"] ?? "")) ? await fileStats(`${file}.gz`) : undefined;
  const sent = gzipped ?? stats;
  const etag = `"${sent.size.toString(16)}-${Math.floor(sent.mtimeMs).toString(16)}${gzipped ? "-gz" : ""}"`;
  const headers = {
    "content-type": contentTypeOf(file),
    "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    etag,
    vary: "accept-encoding",
    ...(gzipped ? { "content-encoding": "gzip" } : {}),
    ...SECURITY_HEADERS,
  };
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, "content-length": sent.size });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const stream = createReadStream(gzipped ? `${file}.gz` : file);
  stream.on("error", () => res.destroy());
  stream.pipe(res as NodeJS.WritableStream);
}

function send(res: GatewayResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, {
    "content-type": contentType,
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(body),
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}

function missingBuildPage(buildCommand: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>taskqueue dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This server serves the dashboard from a directory that has no <code>index.html</code> yet.
Build it with <code>${buildCommand}</code> (it also runs on <code>npm install</code>), then reload this page.</p>
<p>The API, <code>/healthz</code>, <code>/readyz</code> and <code>/metrics</code> work meanwhile.</p>
</body></html>
`;
}
