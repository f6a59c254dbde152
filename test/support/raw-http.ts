import net from "node:net";

/** An HTTP/1.1 answer read off a socket, untouched by any client's URL normalisation. */
export interface RawHttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends `GET <target>` (or another method) exactly as written, with no normalisation of `..`
 * or percent-escapes as `fetch` would apply, and reads the whole answer (`connection: close`).
 */
export function rawHttpRequest(
  port: number,
  target: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawHttpAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.setTimeout(options.timeoutMs ?? 5_000, () => socket.destroy(new Error(`no answer to ${target} in time`)));
    socket.on("connect", () => {
      const extra = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join("");
      socket.write(`${options.method ?? "GET"} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n${extra}connection: close\r\n\r\n`);
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine, ...headerLines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: text.slice(split + 4) });
    });
  });
}
