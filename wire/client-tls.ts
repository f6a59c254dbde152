import { readFileSync } from "node:fs";

/**
 * TLS options of a client (the TypeScript client, the worker SDK, `tq`). PEM contents or file
 * paths; giving any of them makes a "host:port" address mean https.
 */
export interface ClientTlsOptions {
  /** PEM CA certificate(s) to trust instead of the system's roots. */
  ca?: string | Uint8Array;
  /** File of PEM CA certificate(s) (the same as `ca`, read at start). Env `TQ_TLS_CA`. */
  caFile?: string;
  /** PEM client certificate chain, for servers that require mutual TLS. */
  cert?: string | Uint8Array;
  /** File of the PEM client certificate chain. Env `TQ_TLS_CERT`. */
  certFile?: string;
  /** PEM private key of `cert`. */
  key?: string | Uint8Array;
  /** File of the PEM private key. Env `TQ_TLS_KEY`. */
  keyFile?: string;
  /**
   * UNSAFE: accept any server certificate (no chain or name check), so anyone on the path can
   * read and change the traffic. For a quick test against a self-signed server only. Env
   * `TQ_TLS_INSECURE_SKIP_VERIFY=1`.
   */
  insecureSkipVerify?: boolean;
}

/** Node TLS options for an HTTP/2 client connection (`http2.connect`, connect-node's `nodeOptions`). */
export interface NodeTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/** A TLS option is wrong; `option` names it (e.g. "tls.caFile"). */
export class ClientTlsOptionsError extends Error {
  override name = "ClientTlsOptionsError";
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(`${option}: ${problem}`);
  }
}

/** The TLS options the environment gives (`TQ_TLS_CA`, `TQ_TLS_CERT`, `TQ_TLS_KEY`, `TQ_TLS_INSECURE_SKIP_VERIFY`); undefined when none is set. */
export function clientTlsFromEnv(env: NodeJS.ProcessEnv = process.env): ClientTlsOptions | undefined {
  const options: ClientTlsOptions = {};
  if (env.TQ_TLS_CA) options.caFile = env.TQ_TLS_CA;
  if (env.TQ_TLS_CERT) options.certFile = env.TQ_TLS_CERT;
  if (env.TQ_TLS_KEY) options.keyFile = env.TQ_TLS_KEY;
  if (env.TQ_TLS_INSECURE_SKIP_VERIFY && /^(1|true|yes)$/i.test(env.TQ_TLS_INSECURE_SKIP_VERIFY)) options.insecureSkipVerify = true;
  return Object.keys(options).length === 0 ? undefined : options;
}

/**
 * Checks the options and reads the files; throws {@link ClientTlsOptionsError}. `prefix` is
 * the option's name in the caller's API ("tls").
 */
export function compileClientTls(options: ClientTlsOptions, prefix = "tls"): NodeTlsOptions {
  if (options === null || typeof options !== "object") throw new ClientTlsOptionsError(prefix, "must be an object");
  const pem = (name: "ca" | "cert" | "key"): Buffer | undefined => {
    const value = options[name];
    const path = options[`${name}File`];
    if (value !== undefined && path !== undefined) throw new ClientTlsOptionsError(`${prefix}.${name}`, `give ${name} or ${name}File, not both`);
    if (value !== undefined) {
      if (typeof value !== "string" && !(value instanceof Uint8Array)) throw new ClientTlsOptionsError(`${prefix}.${name}`, "must be PEM text or bytes");
      return Buffer.from(value);
    }
    if (path === undefined) return undefined;
    if (typeof path !== "string" || path === "") throw new ClientTlsOptionsError(`${prefix}.${name}File`, "must be a file path");
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ClientTlsOptionsError(`${prefix}.${name}File`, `cannot read ${path}: ${(error as Error).message}`);
    }
  };
  const ca = pem("ca");
  const cert = pem("cert");
  const key = pem("key");
  if ((cert === undefined) !== (key === undefined)) throw new ClientTlsOptionsError(`${prefix}.${cert === undefined ? "cert" : "key"}`, "a client certificate needs both cert and key");
  const skip = options.insecureSkipVerify ?? false;
  if (typeof skip !== "boolean") throw new ClientTlsOptionsError(`${prefix}.insecureSkipVerify`, "must be a boolean");
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }), rejectUnauthorized: !skip };
}

/**
 * The base URL of `address` ("host:port" or an http(s) URL): https when `tls` is set and the
 * address names no scheme. Returns undefined when the address is not valid.
 */
export function clientBaseUrl(address: string, tls: boolean): string | undefined {
  if (typeof address !== "string" || address.trim() === "") return undefined;
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `${tls ? "https" : "http"}://${address}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) return undefined;
  return url.replace(/\/+$/, "");
}
