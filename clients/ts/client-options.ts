import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { TaskClientOptionsError } from "./errors.js";
import { traceContextInterceptor } from "./trace-context-interceptor.js";
import { clientBaseUrl, clientTlsFromEnv, ClientTlsOptionsError, compileClientTls, type ClientTlsOptions } from "../../wire/client-tls.js";
import { HTTP2_SESSION_MEMORY_MB } from "../../wire/http2-session-memory.js";

export type { ClientTlsOptions } from "../../wire/client-tls.js";

/** Options of `createTaskClient`. */
export interface TaskClientOptions {
  /**
   * The server's gRPC port, "host:port" or an http(s) URL. Default: the environment
   * variable `TQ_SERVER`, else "localhost:50051". Plaintext HTTP/2 unless the URL says https.
   */
  address?: string;
  /** The same as `address`, as a URL ("http://localhost:50051"); give one of the two. */
  baseUrl?: string;
  /**
   * A Connect transport to use instead of the built-in gRPC one, e.g. for TLS options or
   * interceptors, or the Connect gateway (`createConnectTransport`). `address` and `baseUrl`
   * must then be left out.
   */
  transport?: Transport;
  /**
   * Set when `transport` sends JSON (`createConnectTransport` with `useBinaryFormat: false`):
   * `submitTasks` then builds its messages with protobuf-es instead of encoding the binary
   * format itself. Default false.
   */
  jsonTransport?: boolean;
  /** Deadline of each call in milliseconds unless the call gives its own; 0 for none. Default 30,000. */
  timeoutMs?: number;
  /**
   * Bearer token sent as `authorization: Bearer …` on every call of the built-in transport.
   * Default: the environment variable `TQ_TOKEN`, else none. (With `transport`, add the
   * header through its interceptors instead.)
   */
  token?: string;
  /**
   * TLS for the built-in transport: a CA to trust, a client certificate and key for mutual
   * TLS (PEM contents or file paths), or the unsafe `insecureSkipVerify`. Default: the
   * environment (`TQ_TLS_CA`, `TQ_TLS_CERT`, `TQ_TLS_KEY`, `TQ_TLS_INSECURE_SKIP_VERIFY`), else
   * none. With TLS a "host:port" address means https; an https address without these options
   * uses the system's CAs.
   */
  tls?: ClientTlsOptions;
  /**
   * How long, in total, a submit waits and retries when the server refuses it for the token's
   * submit quota (RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`; nothing was written), in
   * milliseconds; 0 never retries. Default 30,000.
   */
  quotaRetryMaxWaitMs?: number;
  /** Told before each such wait (e.g. to log it). */
  onQuotaWait?: (delayMs: number, error: Error) => void;
}

/** {@link TaskClientOptions} with defaults applied. */
export interface CompiledTaskClientOptions {
  /** The transport every call goes through. */
  transport: Transport;
  /** The HTTP/2 connection of the built-in transport, closed by `close()`; none for a given transport. */
  sessionManager: Http2SessionManager | undefined;
  /** True when batches must go through protobuf-es. */
  jsonTransport: boolean;
  /** Default deadline of a call; undefined for none. */
  timeoutMs: number | undefined;
  /** Submits' retries after quota refusals: most total wait, ms. */
  quotaRetryMaxWaitMs: number;
  /** Told before each quota wait. */
  onQuotaWait: ((delayMs: number, error: Error) => void) | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_QUOTA_RETRY_MAX_WAIT_MS = 30_000;

/** Checks the options and applies the defaults; throws {@link TaskClientOptionsError}. */
export function compileTaskClientOptions(options: TaskClientOptions = {}): CompiledTaskClientOptions {
  if (options === null || typeof options !== "object") throw new TaskClientOptionsError("options", "must be an object");
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new TaskClientOptionsError("timeoutMs", "must be a number of milliseconds, 0 or more");
  }
  const quotaRetryMaxWaitMs = options.quotaRetryMaxWaitMs ?? DEFAULT_QUOTA_RETRY_MAX_WAIT_MS;
  if (typeof quotaRetryMaxWaitMs !== "number" || !Number.isFinite(quotaRetryMaxWaitMs) || quotaRetryMaxWaitMs < 0) {
    throw new TaskClientOptionsError("quotaRetryMaxWaitMs", "must be a number of milliseconds, 0 or more");
  }
  const common = {
    jsonTransport: options.jsonTransport === true,
    timeoutMs: timeoutMs === 0 ? undefined : timeoutMs,
    quotaRetryMaxWaitMs,
    onQuotaWait: options.onQuotaWait,
  };
  if (options.token !== undefined && typeof options.token !== "string") throw new TaskClientOptionsError("token", "must be a string");
  if (options.transport !== undefined) {
    if (options.token !== undefined) throw new TaskClientOptionsError("token", "give the token through the transport's interceptors");
    if (options.tls !== undefined) throw new TaskClientOptionsError("tls", "give TLS options to the transport (nodeOptions)");
    if (options.address !== undefined || options.baseUrl !== undefined) {
      throw new TaskClientOptionsError("transport", "give a transport or an address, not both");
    }
    return { ...common, transport: options.transport, sessionManager: undefined };
  }
  if (options.address !== undefined && options.baseUrl !== undefined) {
    throw new TaskClientOptionsError("address", "give address or baseUrl, not both");
  }
  const option = options.baseUrl !== undefined ? "baseUrl" : "address";
  const tlsOptions = options.tls ?? clientTlsFromEnv();
  const tls = tlsOptions === undefined ? undefined : compileTls(tlsOptions);
  const baseUrl = compileBaseUrl(option, options.baseUrl ?? options.address ?? process.env.TQ_SERVER ?? "localhost:50051", tls !== undefined);
  const nodeOptions = { ...tls, maxSessionMemory: HTTP2_SESSION_MEMORY_MB };
  const sessionManager = new Http2SessionManager(baseUrl, undefined, nodeOptions);
  const token = options.token ?? process.env.TQ_TOKEN ?? "";
  // Calls made inside a span carry its trace context (nothing without an OpenTelemetry SDK).
  const interceptors = token === "" ? [traceContextInterceptor] : [traceContextInterceptor, bearer(token)];
  return { ...common, transport: createGrpcTransport({ baseUrl, sessionManager, interceptors }), sessionManager };
}

/** Adds `authorization: Bearer <token>` to every request. */
function bearer(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/** {@link compileClientTls} with its errors as {@link TaskClientOptionsError}. */
function compileTls(options: ClientTlsOptions) {
  try {
    return compileClientTls(options);
  } catch (error) {
    if (error instanceof ClientTlsOptionsError) throw new TaskClientOptionsError(error.option, error.problem);
    throw error;
  }
}

/** "host:port" or an http(s) URL as a base URL without a trailing slash (https for "host:port" with TLS). */
function compileBaseUrl(option: string, address: unknown, tls: boolean): string {
  const url = clientBaseUrl(address as string, tls);
  if (url === undefined) throw new TaskClientOptionsError(option, `${typeof address === "string" && address.trim() !== "" ? `"${address}"` : "it"} is not host:port or an http(s) URL`);
  if (tls && url.startsWith("http:")) throw new TaskClientOptionsError("tls", `TLS options were given but the address ${url} says http://`);
  return url;
}
