import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Transport } from "@connectrpc/connect";
import { defaultWorkerLogger, type Logger } from "./logger.js";
import { DEFAULT_INITIAL_DELAY_MS, DEFAULT_MAX_DELAY_MS } from "./backoff.js";
import { systemClock, type Clock } from "./clock.js";
import { queueNameProblem } from "../wire/queue-name.js";
import { WorkerOptionsError } from "./errors.js";
import type { TaskHandlers } from "./task-context.js";
import { clientBaseUrl, clientTlsFromEnv, ClientTlsOptionsError, compileClientTls, type ClientTlsOptions, type NodeTlsOptions } from "../wire/client-tls.js";

/** SDK name and version announced in the hello. */
export const SDK_NAME = "taskqueue-ts/0.1.0";

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /** Server address, "host:port" or a URL. Default `TQ_SERVER` or "localhost:50051". */
  address?: string;
  /**
   * API token (a worker token whose queues cover `queues`), sent as `authorization: Bearer …`
   * by the built-in transport. Default `TQ_TOKEN`, else none.
   */
  token?: string;
  /**
   * TLS for the built-in transport: a CA to trust, a client certificate and key for mutual
   * TLS (PEM contents or file paths), or the unsafe `insecureSkipVerify`. Default: the
   * environment (`TQ_TLS_CA`, `TQ_TLS_CERT`, `TQ_TLS_KEY`, `TQ_TLS_INSECURE_SKIP_VERIFY`), else
   * none. With TLS a "host:port" address means https.
   */
  tls?: ClientTlsOptions;
  /**
   * Queues to take tasks from, at least one; each name 1-128 characters of letters, digits
   * and `. _ : -` (the server's rule: `start()` rejects other names before connecting).
   */
  queues: string[];
  /**
   * Maximum concurrent tasks, 1-10000, default 10: the hello's capacity, which bounds what the
   * server leases to the stream and the credits granted. The server refuses a hello above its
   * `MAX_WORKER_CAPACITY` (default 1000) with INVALID_ARGUMENT.
   */
  concurrency?: number;
  /** Handlers by task type; their names are the task types announced to the server. */
  handlers: TaskHandlers;
  /** Stable worker identity, 1-128 characters. Default "hostname/pid/random". */
  workerId?: string;
  /** Free-form labels announced in the hello. */
  labels?: Record<string, string>;
  /** Logger (a pino logger fits). Default a pino logger named "worker". */
  logger?: Logger;
  /** Reconnect back-off: initial delay (default 100 ms) and cap (default 5 s). */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long to wait for the server's welcome before reconnecting, in ms. Default 10000. */
  welcomeTimeoutMs?: number;
  /** Heartbeat interval used when the welcome states none, in ms. Default 10000. */
  heartbeatIntervalMs?: number;
  /** Minimum interval between two progress reports of a task, in ms. Default 250. */
  progressIntervalMs?: number;
  /**
   * Transport to use instead of the built-in plaintext HTTP/2 gRPC transport (e.g. for
   * TLS or interceptors). `address` is then ignored, and a deaf server is handled by
   * dropping the stream only. The SDK encodes and decodes the stream's messages itself:
   * interceptors see `ConnectRequest` and `ConnectResponse` with the member of their oneof
   * as encoded bytes (headers and trailers are as usual).
   */
  transport?: Transport;
  /** Clock and timers. Default the system clock. */
  clock?: Clock;
}

/** {@link WorkerOptions} with defaults applied and values validated. */
export interface CompiledWorkerOptions {
  /** Base URL of the server, e.g. "http://localhost:50051". */
  baseUrl: string;
  /** API token for the built-in transport, if any. */
  token: string | undefined;
  /** Node TLS options of the built-in transport's connection; undefined for plaintext or system CAs. */
  tls: NodeTlsOptions | undefined;
  /** Distinct queue names. */
  queues: string[];
  /** Maximum concurrent tasks. */
  concurrency: number;
  /** Handlers by task type. */
  handlers: TaskHandlers;
  /** Worker identity. */
  workerId: string;
  /** Labels announced in the hello. */
  labels: Record<string, string>;
  /** Logger. */
  logger: Logger;
  /** Back-off bounds in ms. */
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  /** Welcome deadline in ms. */
  welcomeTimeoutMs: number;
  /** Fallback heartbeat interval in ms. */
  heartbeatIntervalMs: number;
  /** Progress throttle interval in ms. */
  progressIntervalMs: number;
  /** Caller-supplied transport, if any. */
  transport: Transport | undefined;
  /** Clock and timers. */
  clock: Clock;
}

/**
 * Validates worker options and fills in defaults. Throws a {@link WorkerOptionsError}
 * naming the first bad option.
 */
export function compileWorkerOptions(options: WorkerOptions): CompiledWorkerOptions {
  if (options === null || typeof options !== "object") {
    throw new WorkerOptionsError("options", "must be an object");
  }
  const address = options.address ?? process.env.TQ_SERVER ?? "localhost:50051";
  const token = options.token ?? process.env.TQ_TOKEN ?? "";
  if (typeof token !== "string") throw new WorkerOptionsError("token", "must be a string");
  const tlsOptions = options.tls ?? clientTlsFromEnv();
  const tls = tlsOptions === undefined ? undefined : compileTls(tlsOptions);
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new WorkerOptionsError("concurrency", "must be an integer between 1 and 10000");
  }
  const workerId = options.workerId ?? defaultWorkerId();
  if (typeof workerId !== "string" || workerId.length < 1 || workerId.length > 128) {
    throw new WorkerOptionsError("workerId", "must be 1-128 characters");
  }
  const initialDelayMs = options.reconnect?.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  positive("reconnect.initialDelayMs", initialDelayMs);
  positive("reconnect.maxDelayMs", maxDelayMs);
  if (maxDelayMs < initialDelayMs) {
    throw new WorkerOptionsError("reconnect.maxDelayMs", "must be at least initialDelayMs");
  }
  return {
    baseUrl: compileBaseUrl(address, tls !== undefined),
    token: token === "" ? undefined : token,
    tls,
    queues: compileQueues(options.queues),
    concurrency,
    handlers: compileHandlers(options.handlers),
    workerId,
    labels: compileLabels(options.labels),
    logger: options.logger ?? defaultWorkerLogger("worker"),
    reconnect: { initialDelayMs, maxDelayMs },
    welcomeTimeoutMs: positive("welcomeTimeoutMs", options.welcomeTimeoutMs ?? 10_000),
    heartbeatIntervalMs: positive("heartbeatIntervalMs", options.heartbeatIntervalMs ?? 10_000),
    progressIntervalMs: nonNegative("progressIntervalMs", options.progressIntervalMs ?? 250),
    transport: options.transport,
    clock: options.clock ?? systemClock,
  };
}

function defaultWorkerId(): string {
  return `${hostname()}/${process.pid}/${randomBytes(3).toString("hex")}`.slice(-128);
}

function compileTls(options: ClientTlsOptions): NodeTlsOptions {
  try {
    return compileClientTls(options);
  } catch (error) {
    if (error instanceof ClientTlsOptionsError) throw new WorkerOptionsError(error.option, error.problem);
    throw error;
  }
}

function compileBaseUrl(address: string, tls: boolean): string {
  const url = clientBaseUrl(address, tls);
  if (url === undefined) {
    throw new WorkerOptionsError("address", typeof address !== "string" || address.trim() === "" ? "must be host:port or a URL" : `"${address}" is not host:port or an http(s) URL`);
  }
  if (tls && url.startsWith("http:")) throw new WorkerOptionsError("tls", `TLS options were given but the address ${url} says http://`);
  return url;
}

function compileQueues(queues: unknown): string[] {
  if (!Array.isArray(queues) || queues.length === 0) {
    throw new WorkerOptionsError("queues", "must list at least one queue");
  }
  queues.forEach((queue: unknown, i) => {
    if (typeof queue !== "string") throw new WorkerOptionsError(`queues[${i}]`, "must be a string");
    const problem = queueNameProblem(queue);
    if (problem === undefined) return;
    throw new WorkerOptionsError(`queues[${i}]`, queue === "" ? "must not be empty" : `${quoted(queue)} ${problem}`);
  });
  return [...new Set(queues as string[])];
}

/** `s` quoted for an error message, shortened to 40 characters. */
function quoted(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function compileHandlers(handlers: unknown): TaskHandlers {
  if (handlers === null || typeof handlers !== "object") {
    throw new WorkerOptionsError("handlers", "must be an object of task type to function");
  }
  const entries = Object.entries(handlers as Record<string, unknown>);
  if (entries.length === 0) throw new WorkerOptionsError("handlers", "must name at least one task type");
  for (const [type, handler] of entries) {
    if (typeof handler !== "function") {
      throw new WorkerOptionsError(`handlers.${type}`, "must be a function");
    }
  }
  return { ...(handlers as TaskHandlers) };
}

function compileLabels(labels: unknown): Record<string, string> {
  if (labels === undefined) return {};
  if (labels === null || typeof labels !== "object") {
    throw new WorkerOptionsError("labels", "must be an object of strings");
  }
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string") throw new WorkerOptionsError(`labels.${key}`, "must be a string");
  }
  return { ...(labels as Record<string, string>) };
}

function positive(field: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new WorkerOptionsError(field, "must be a positive number of milliseconds");
  }
  return value;
}

function nonNegative(field: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new WorkerOptionsError(field, "must be a non-negative number of milliseconds");
  }
  return value;
}
