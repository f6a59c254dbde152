import type { CallOptions } from "@connectrpc/connect";

/** Options every call takes. */
export interface RequestOptions {
  /** Deadline of this call in milliseconds; 0 for none. Default: the client's `timeoutMs`. */
  timeoutMs?: number;
  /** Aborts the call (it then fails with `CANCELED`). */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: HeadersInit;
}

/** The Connect call options of one request: its own deadline, else the client's default. */
export function callOptionsOf(defaultTimeoutMs: number | undefined, request: RequestOptions | undefined): CallOptions {
  const timeoutMs = request?.timeoutMs ?? defaultTimeoutMs;
  return { timeoutMs: timeoutMs === 0 ? undefined : timeoutMs, signal: request?.signal, headers: request?.headers };
}
