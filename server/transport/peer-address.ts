import { createContextKey, type ContextValues } from "@connectrpc/connect";

/**
 * The remote address of the current call's connection, in a handler context's `values` (and an
 * interceptor request's `contextValues`): set by both servers, read when needed (a function, so
 * that calls which never ask pay nothing).
 */
export const peerAddressKey = createContextKey<(() => string) | undefined>(undefined, {
  description: "remote address of the call's connection",
});

/** The remote address of a call, or "" when the server did not say. */
export function peerAddressOf(values: ContextValues): string {
  return values.get(peerAddressKey)?.() ?? "";
}

/**
 * Whether a peer address is a loopback one: `127.0.0.0/8`, `::1`, their IPv4-mapped forms, or a
 * Unix socket. Takes node's `remoteAddress` ("127.0.0.1", "::ffff:127.0.0.1") and grpc-js's
 * `getPeer()` ("ipv4:127.0.0.1:5000", "[::1]:5000", "127.0.0.1:5000", "unix:/path").
 */
export function isLoopbackAddress(peer: string): boolean {
  if (peer.startsWith("unix:")) return true;
  let host = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]*)\](?::\d+)?$/.exec(host);
  if (bracketed) host = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(host)) host = host.slice(0, host.lastIndexOf(":"));
  host = host.toLowerCase().replace(/^::ffff:/, "");
  return host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
