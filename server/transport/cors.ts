import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

/**
 * Which web pages may call the gateway from a browser: `"same-origin"` only pages the gateway
 * itself serves (the dashboard), `"*"` any page, or a list of origins (`https://ops.example.com`),
 * pages of the gateway itself always included.
 */
export type AllowedOrigins = "same-origin" | "*" | readonly string[];

/** CORS policy of the HTTP gateway. */
export interface CorsOptions {
  /** Origins allowed to call from a browser. Default `"*"` (the server passes `CORS_ORIGINS`). */
  allowedOrigins?: AllowedOrigins;
  /** Request headers allowed besides those of the Connect and gRPC-Web protocols. */
  allowedHeaders?: readonly string[];
  /** Response headers exposed besides those of the Connect and gRPC-Web protocols. */
  exposedHeaders?: readonly string[];
  /** How long a browser may cache a preflight answer. Default 7200 s. */
  maxAgeSeconds?: number;
}

/** {@link CorsOptions} with defaults applied, ready to use per request. */
export interface CompiledCorsOptions {
  readonly allowedOrigins: "*" | ReadonlySet<string>;
  readonly allowMethods: string;
  readonly allowHeaders: string;
  readonly exposeHeaders: string;
  readonly maxAgeSeconds: number;
}

/** Parses `CORS_ORIGINS`: empty is same origin only, `*` any, else a comma-separated list. */
export function parseCorsOrigins(setting: string): AllowedOrigins {
  const origins = setting
    .split(",")
    .map((o) => o.trim().replace(/\/+$/, ""))
    .filter((o) => o !== "");
  if (origins.length === 0) return "same-origin";
  return origins.includes("*") ? "*" : origins;
}

/** Applies the defaults of {@link CorsOptions}. */
export function compileCorsOptions(options: CorsOptions = {}): CompiledCorsOptions {
  const origins = options.allowedOrigins ?? "*";
  return {
    allowedOrigins: origins === "*" ? "*" : new Set(origins === "same-origin" ? [] : origins),
    allowMethods: [...connectCors.allowedMethods, "OPTIONS"].join(", "),
    allowHeaders: [...connectCors.allowedHeaders, "authorization", ...(options.allowedHeaders ?? [])].join(", "),
    exposeHeaders: [...connectCors.exposedHeaders, ...(options.exposedHeaders ?? [])].join(", "),
    maxAgeSeconds: options.maxAgeSeconds ?? 7200,
  };
}

/**
 * Applies the CORS policy to a request. Returns true when the request is fully answered: a
 * preflight (204, or 403 for a refused origin), or a request from a refused origin (403: the
 * call is not made, whatever the browser would do with the answer). Requests without an
 * `Origin` header (not from a browser page) and from the gateway's own pages pass through.
 * `Access-Control-Allow-Credentials` is never sent: browsers send no cookies or HTTP
 * credentials cross-origin (API tokens travel in the `authorization` header the page sets).
 */
export function handleCors(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  cors: CompiledCorsOptions,
): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string") {
    return false;
  }
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  res.setHeader("Vary", "Origin");
  const allowed = cors.allowedOrigins === "*" || cors.allowedOrigins.has(origin);
  if (!allowed) {
    if (!preflight && isSameOrigin(req, origin)) return false;
    res.writeHead(403, { "content-type": "text/plain" }).end(`origin ${origin} may not call this server (CORS_ORIGINS)\n`);
    return true;
  }
  res.setHeader("Access-Control-Allow-Origin", origin);
  if (!preflight) {
    res.setHeader("Access-Control-Expose-Headers", cors.exposeHeaders);
    return false;
  }
  res.setHeader("Access-Control-Allow-Methods", cors.allowMethods);
  res.setHeader("Access-Control-Allow-Headers", cors.allowHeaders);
  res.setHeader("Access-Control-Max-Age", String(cors.maxAgeSeconds));
  res.writeHead(204).end();
  return true;
}

/** Whether `origin` is the gateway's own (the page was served by the host the request names). */
function isSameOrigin(req: http.IncomingMessage | http2.Http2ServerRequest, origin: string): boolean {
  const host = req.headers.host ?? req.headers[":authority"];
  if (typeof host !== "string" || host === "") return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}
