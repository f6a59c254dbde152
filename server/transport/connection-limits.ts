/** What bounds the connections of one port (both servers take these). */
export interface ConnectionLimits {
  /** Open connections at most; more are closed on arrival. Default 5000. */
  maxConnections?: number;
  /**
   * How long a new connection may take to send the HTTP/2 preface (or, on the gateway, the
   * first bytes of an HTTP/1.1 request), ms. Default 10 s.
   */
  handshakeTimeoutMs?: number;
  /** An HTTP/2 connection with no call open this long is closed (GOAWAY), ms. Default 5 min. */
  idleTimeoutMs?: number;
  /** Concurrent HTTP/2 streams (calls) per connection. Default 1000. */
  maxStreamsPerConnection?: number;
  /** How long an HTTP/1.1 request's headers may take to arrive (the gateway), ms. Default 10 s. */
  headersTimeoutMs?: number;
}

/** {@link ConnectionLimits} with every default applied. */
export type CompiledConnectionLimits = Required<ConnectionLimits>;

/** Applies the defaults of {@link ConnectionLimits}. */
export function compileConnectionLimits(limits: ConnectionLimits = {}): CompiledConnectionLimits {
  return {
    maxConnections: limits.maxConnections ?? 5_000,
    handshakeTimeoutMs: limits.handshakeTimeoutMs ?? 10_000,
    idleTimeoutMs: limits.idleTimeoutMs ?? 300_000,
    maxStreamsPerConnection: limits.maxStreamsPerConnection ?? 1_000,
    headersTimeoutMs: limits.headersTimeoutMs ?? 10_000,
  };
}
