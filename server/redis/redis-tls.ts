import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { InvalidArgumentError } from "../errors.js";

/** The `REDIS_TLS_*` files ("" for none). */
export interface RedisTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * The ioredis `tls` option of a `rediss://` URL: the CA to trust (instead of the system's) and
 * the client certificate Redis asks for by default (`tls-auth-clients yes`). Undefined when no
 * file is given: ioredis then uses TLS with the system's CAs for `rediss://`.
 * @throws InvalidArgumentError naming a file that cannot be read
 */
export function redisTlsOptions(files: RedisTlsFiles): ConnectionOptions | undefined {
  const read = (path: string, field: string, env: string): Buffer | undefined => {
    if (path === "") return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new InvalidArgumentError(field, `${env}: cannot read ${path} (${(error as Error).message})`);
    }
  };
  const ca = read(files.caFile, "redisTlsCaFile", "REDIS_TLS_CA_FILE");
  const cert = read(files.certFile, "redisTlsCertFile", "REDIS_TLS_CERT_FILE");
  const key = read(files.keyFile, "redisTlsKeyFile", "REDIS_TLS_KEY_FILE");
  if (!ca && !cert) return undefined;
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
}
