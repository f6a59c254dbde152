import { createServer } from "node:net";

/** The loopback address every local service binds to. */
export const LOOPBACK_HOST = "127.0.0.1";

/**
 * Finds a TCP port that is free on `host` (default 127.0.0.1) by letting the kernel pick one
 * for a throw-away listener. Another process may still take the port before the caller binds
 * it, so callers that choose a port this way should retry with a new one on "address in use".
 */
export function findFreePort(host: string = LOOPBACK_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close((error) => (error ? reject(error) : port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * Tells whether `port` can currently be bound on `host` (default 127.0.0.1).
 * Resolves false on "address in use" or "access denied"; other errors reject.
 */
export function isPortFree(port: number, host: string = LOOPBACK_HOST): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(false);
      else reject(error);
    });
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
