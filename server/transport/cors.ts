import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

/** CORS policy of the HTTP gateway. */
export interface CorsOptions {
  /** Origins allowed to call from a browser; `"*"` allows any. Default `"*"`. */
  allowedOrigins?: "*" | readonly string[];
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

/** Applies the defaults of {@link CorsOptions}. */
export function compileCorsOptions(options: CorsOptions = {}): CompiledCorsOptions {
  const origins = options.allowedOrigins ?? "*";
  return {
    allowedOrigins: origins === "*" ? "*" : new Set(origins),
    allowMethods: [...connectCors.allowedMethods, "OPTIONS"].join(", "),
    allowHeaders: [...connectCors.allowedHeaders, "authorization", ...(options.allowedHeaders ?? [])].join(", "),
    exposeHeaders: [...connectCors.exposedHeaders, ...(options.exposedHeaders ?? [])].join(", "),
    maxAgeSeconds: options.maxAgeSeconds ?? 7200,
  };
}

/**
 * Adds CORS headers for a browser request and answers preflights. Returns true when the
 * request was a preflight and is fully answered (204, or 403 for a refused origin).
 * Requests without an `Origin` header pass through untouched.
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
  const allowed = cors.allowedOrigins === "*" || cors.allowedOrigins.has(origin);
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  res.setHeader("Vary", "Origin");
  if (!allowed) {
    if (preflight) {
      res.writeHead(403).end();
      return true;
    }
    return false;
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
