import { connect } from "node:net";
import { LOOPBACK_HOST } from "./free-port.js";

/**
 * Sends one inline `PING` to the Redis server at `host:port` over a fresh connection and
 * resolves true on `+PONG`. Resolves false on refusal, another reply, or after `timeoutMs`.
 */
export function pingRedis(port: number, host: string = LOOPBACK_HOST, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    let reply = "";
    const socket = connect({ port, host });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("error", () => finish(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
    socket.once("close", () => finish(false));
  });
}
