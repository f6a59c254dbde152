import { Code, ConnectError } from "@connectrpc/connect";
import type { Principal } from "./principal.js";

/** A token's own quotas (CreateTokenRequest fields 20-22); an absent field follows the server's. */
export interface TokenQuota {
  /** Tasks per second the token may submit to one server. */
  submitRate?: number;
  /** Tasks the token may submit at once above its rate (the bucket's size). */
  submitBurst?: number;
  /** WorkerService streams the token may hold open at once on one server. */
  maxWorkerStreams?: number;
}

/** The server's quotas (`QUOTA_*` settings); 0 means unlimited. */
export interface QuotaDefaults {
  /** Tasks per second per token (`QUOTA_SUBMIT_RATE`). */
  submitRate: number;
  /** Bucket size per token (`QUOTA_SUBMIT_BURST`). */
  submitBurst: number;
  /** Open worker streams per token (`QUOTA_WORKER_STREAMS`). */
  workerStreams: number;
}

/**
 * Trailer (gRPC) / header (Connect, HTTP) of a RESOURCE_EXHAUSTED quota error: milliseconds to
 * wait before retrying. It is gRPC's own retry pushback key, so a gRPC client whose retry
 * policy covers RESOURCE_EXHAUSTED waits that long by itself.
 */
export const RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms";

/** The same delay in whole seconds, as HTTP's `Retry-After` (for curl and HTTP tooling). */
export const RETRY_AFTER_KEY = "retry-after";

interface Bucket {
  tokens: number;
  atMs: number;
}

/**
 * Quotas of API tokens, kept in this server's memory: a token bucket of submitted tasks and a
 * count of open worker streams per token. Each token has its own bucket and count, so one
 * token over its quota never delays another; a check is a map lookup and a few arithmetic
 * operations. Limits hold per server (N servers let a token submit N times its rate).
 * Callers without an API token id (TQ_ADMIN_TOKEN, unauthenticated loopback or AUTH_MODE=none)
 * have no quota: they share one identity, and a shared bucket would let one of them slow the rest.
 */
export class TokenQuotas {
  private readonly buckets = new Map<string, Bucket>();
  private readonly streams = new Map<string, number>();

  /**
   * @param defaults the server's quotas
   * @param nowMs monotonic clock, ms
   */
  constructor(
    private readonly defaults: QuotaDefaults,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /**
   * Takes `count` submitted tasks from the caller's bucket, or throws RESOURCE_EXHAUSTED with the
   * delay after which the submit would be accepted ({@link RETRY_PUSHBACK_KEY}). A batch larger
   * than the bucket passes when the bucket is full and leaves it in debt, so the long-run rate holds.
   */
  takeSubmits(principal: Principal, count: number): void {
    const tokenId = principal.tokenId;
    if (tokenId === undefined || count <= 0) return;
    const rate = principal.quota?.submitRate ?? this.defaults.submitRate;
    if (rate <= 0) return;
    const burst = principal.quota?.submitBurst ?? (principal.quota?.submitRate !== undefined ? 2 * rate : this.defaults.submitBurst || 2 * rate);
    const now = this.nowMs();
    let bucket = this.buckets.get(tokenId);
    if (!bucket) this.buckets.set(tokenId, (bucket = { tokens: burst, atMs: now }));
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.atMs) * rate) / 1000);
    bucket.atMs = now;
    const need = Math.min(count, burst);
    if (bucket.tokens >= need) {
      bucket.tokens -= count;
      return;
    }
    const waitMs = Math.max(1, Math.ceil(((need - bucket.tokens) * 1000) / rate));
    throw quotaError(`${principal.name} is over its submit quota of ${rate} tasks/s (burst ${burst}): retry in ${waitMs} ms`, waitMs);
  }

  /**
   * Counts a worker stream opened by the caller, or throws RESOURCE_EXHAUSTED when the token
   * already holds its most streams on this server.
   * @returns release: call once when the stream ends
   */
  openStream(principal: Principal): () => void {
    const tokenId = principal.tokenId;
    const max = principal.quota?.maxWorkerStreams ?? this.defaults.workerStreams;
    if (tokenId === undefined || max <= 0) return () => undefined;
    const open = this.streams.get(tokenId) ?? 0;
    if (open >= max) {
      throw new ConnectError(
        `${principal.name} already holds ${open} worker streams on this server, its quota (max_worker_streams ${max}): close one first`,
        Code.ResourceExhausted,
      );
    }
    this.streams.set(tokenId, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.streams.get(tokenId) ?? 1) - 1;
      if (left <= 0) this.streams.delete(tokenId);
      else this.streams.set(tokenId, left);
    };
  }

  /** Open worker streams of a token on this server. */
  openStreams(tokenId: string): number {
    return this.streams.get(tokenId) ?? 0;
  }
}

/** RESOURCE_EXHAUSTED carrying the retry delay as metadata. */
function quotaError(message: string, waitMs: number): ConnectError {
  const metadata = new Headers({ [RETRY_PUSHBACK_KEY]: String(waitMs), [RETRY_AFTER_KEY]: String(Math.ceil(waitMs / 1000)) });
  return new ConnectError(message, Code.ResourceExhausted, metadata);
}
