/** A private server process (Redis, Postgres) started for tests, benchmarks or `npm run dev`. */
export interface LocalServiceProcess {
  /** Connection URL, e.g. `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /**
   * Connection URL over the server's unix socket, for clients on the same host: each message
   * skips the TCP stack (`unix:///DIR/redis.sock`, `postgres://postgres@/DB?host=DIR&port=PORT`).
   * Redis falls back to its TCP URL when its folder's path is too long for a socket.
   */
  readonly socketUrl: string;
  /** The TCP port on 127.0.0.1; kept across restarts. */
  readonly port: number;
  /** Process id of the current server process. */
  readonly pid: number;
  /** The server's folder. */
  readonly dir: string;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Stops the server (SIGKILL after the deadline) and removes its temp folder. Final. */
  stop(): Promise<void>;
  /** Sends `signal` and waits for its effect (exited, frozen, or running again). */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port. */
  restart(): Promise<void>;
}
