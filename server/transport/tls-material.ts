import { readFileSync } from "node:fs";
import tls from "node:tls";

/** A server's TLS certificate and key, and the CAs its clients' certificates must chain to (mTLS). */
export interface TlsMaterial {
  /** PEM certificate chain. */
  readonly cert: Buffer;
  /** PEM private key. */
  readonly key: Buffer;
  /** PEM CA certificates; when given, clients must present a certificate they signed. */
  readonly clientCa?: Buffer;
}

/** Typed error for TLS files that cannot be read. */
export class TlsMaterialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TlsMaterialError";
  }
}

/** Reads `TLS_CERT_FILE`, `TLS_KEY_FILE` and `TLS_CLIENT_CA_FILE`; undefined without a certificate. */
export function readTlsMaterial(files: { certFile: string; keyFile: string; clientCaFile: string }): TlsMaterial | undefined {
  if (files.certFile === "") return undefined;
  const read = (path: string, setting: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new TlsMaterialError(`${setting}: cannot read ${path}`, { cause: error });
    }
  };
  return {
    cert: read(files.certFile, "TLS_CERT_FILE"),
    key: read(files.keyFile, "TLS_KEY_FILE"),
    clientCa: files.clientCaFile === "" ? undefined : read(files.clientCaFile, "TLS_CLIENT_CA_FILE"),
  };
}

/**
 * A TLS server that never listens (its handshake must end within `handshakeTimeoutMs`): accepted TCP sockets are handed to it (`emit("connection")`)
 * and `onSecure` receives each one once its handshake is done, with the protocol ALPN chose
 * (`h2` or `http/1.1`). Client certificates are required when the material has a client CA.
 */
export function createTlsTerminator(material: TlsMaterial, handshakeTimeoutMs: number, onSecure: (socket: tls.TLSSocket) => void): tls.Server {
  const server = tls.createServer({
    cert: material.cert,
    key: material.key,
    ca: material.clientCa,
    requestCert: material.clientCa !== undefined,
    rejectUnauthorized: material.clientCa !== undefined,
    ALPNProtocols: ["h2", "http/1.1"],
    handshakeTimeout: handshakeTimeoutMs,
  });
  server.on("secureConnection", onSecure);
  // A failed handshake (wrong CA, no client certificate, not TLS) ends that connection only.
  server.on("tlsClientError", (_error, socket) => socket.destroy());
  return server;
}
