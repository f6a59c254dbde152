import type net from "node:net";

/** The fixed bytes every HTTP/2 prior-knowledge connection starts with (RFC 9113 §3.4). */
const http2Magic = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Length of an HTTP/2 frame header; the magic must be followed by a SETTINGS frame. */
const FRAME_HEADER_BYTES = 9;
const SETTINGS_FRAME_TYPE = 0x4;

/**
 * What a new connection's first bytes tell:
 * - `http2`: the HTTP/2 magic followed by a SETTINGS frame header (the client preface);
 * - `http1`: bytes that cannot start the HTTP/2 magic (an HTTP/1.1 request, or anything else);
 * - `bad_preface`: the HTTP/2 magic followed by something other than SETTINGS;
 * - `timeout`: too few bytes to tell within the deadline;
 * - `closed`: the connection ended first.
 */
export type PrefaceVerdict = "http2" | "http1" | "bad_preface" | "timeout" | "closed";

/**
 * Reads a new connection's first bytes until they tell its protocol, at most the HTTP/2
 * client preface (magic and SETTINGS frame header), then puts them back on the socket,
 * leaves it paused, and calls `done` once. A connection that sends too few bytes within
 * `timeoutMs` gets `timeout` (a half-sent preface or request line holds no resource for
 * longer); the caller decides what to do with the socket in every case.
 */
export function readPreface(socket: net.Socket, timeoutMs: number, done: (verdict: PrefaceVerdict) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  let settled = false;
  const settle = (verdict: PrefaceVerdict): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    socket.removeListener("data", onData);
    socket.removeListener("close", onClose);
    socket.pause();
    if (buffered.length > 0 && verdict !== "closed") socket.unshift(buffered);
    done(verdict);
  };
  const onData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const verdict = judge(buffered);
    if (verdict !== undefined) settle(verdict);
  };
  const onClose = (): void => settle("closed");
  const timer = setTimeout(() => settle("timeout"), timeoutMs);
  timer.unref();
  socket.on("data", onData);
  socket.once("close", onClose);
}

/** The verdict the bytes so far allow, or undefined when more are needed. */
function judge(bytes: Buffer): PrefaceVerdict | undefined {
  const magicPart = Math.min(bytes.length, http2Magic.length);
  if (!bytes.subarray(0, magicPart).equals(http2Magic.subarray(0, magicPart))) return "http1";
  if (bytes.length < http2Magic.length + FRAME_HEADER_BYTES) return undefined;
  return bytes[http2Magic.length + 3] === SETTINGS_FRAME_TYPE ? "http2" : "bad_preface";
}
