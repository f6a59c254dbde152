import type http2 from "node:http2";

/**
 * Closes an HTTP/2 session (GOAWAY, then the connection once its streams are done) after
 * `idleTimeoutMs` with no stream open, as grpc-js does with `grpc.max_connection_idle_ms`.
 * Idle means no call: pings and settings keep no connection open. Calls `onIdleClose`
 * for each session it closes.
 */
export function closeWhenIdle(session: http2.ServerHttp2Session, idleTimeoutMs: number, onIdleClose: () => void): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      if (open > 0 || session.closed || session.destroyed) return;
      onIdleClose();
      session.close();
    }, idleTimeoutMs);
    timer.unref();
  };
  const onStreamClose = (): void => {
    open -= 1;
    if (open === 0) arm();
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open += 1;
    clearTimeout(timer);
    stream.once("close", onStreamClose);
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}
