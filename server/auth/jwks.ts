import { createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";

/** The JWS algorithms accepted: RSA PKCS#1 v1.5 and ECDSA P-256, both with SHA-256. */
export type JwtAlgorithm = "RS256" | "ES256";

/** One public key of a JWKS, ready for `crypto.verify`. */
export interface JwtKey {
  /** Its `kid` ("" when the JWK has none). */
  readonly kid: string;
  /** The only algorithm it verifies. */
  readonly alg: JwtAlgorithm;
  readonly key: KeyObject;
}

/** A JWKS that cannot be read or holds no usable key. */
export class JwksError extends Error {
  override name = "JwksError";
}

/**
 * The usable keys of a JWKS document (`{"keys": [...]}`): RSA keys (RS256) and EC P-256
 * keys (ES256) meant for signatures (`use` absent or "sig"). A key's `alg`, when given, must
 * match its type; keys of other types or algorithms are skipped (an IdP may publish them).
 */
export function parseJwks(text: string): JwtKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new JwksError(`not JSON: ${(error as Error).message}`);
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwksError('not a JWKS: no "keys" array');
  const usable: JwtKey[] = [];
  for (const jwk of keys as Array<Record<string, unknown>>) {
    if (jwk === null || typeof jwk !== "object") continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    const alg: JwtAlgorithm | undefined = jwk.kty === "RSA" ? "RS256" : jwk.kty === "EC" && jwk.crv === "P-256" ? "ES256" : undefined;
    if (alg === undefined || (jwk.alg !== undefined && jwk.alg !== alg)) continue;
    let key: KeyObject;
    try {
      // Only the public members: a JWKS that (wrongly) carries private ones still yields a public key.
      const { kty, n, e, crv, x, y } = jwk;
      key = createPublicKey({ key: { kty, n, e, crv, x, y } as import("node:crypto").JsonWebKey, format: "jwk" });
    } catch {
      continue;
    }
    usable.push({ kid: typeof jwk.kid === "string" ? jwk.kid : "", alg, key });
  }
  return usable;
}

/** Where the key set comes from: `AUTH_JWT_JWKS_URL` (https, or http for tests) or `AUTH_JWT_JWKS_FILE`. */
export interface JwksLocation {
  url: string;
  file: string;
}

/** Reads and parses the key set (a fetch with a 10 s deadline, or a file read). */
export async function loadJwks(location: JwksLocation): Promise<JwtKey[]> {
  let text: string;
  if (location.url !== "") {
    let response: Response;
    try {
      response = await fetch(location.url, { signal: AbortSignal.timeout(10_000), headers: { accept: "application/json" } });
    } catch (error) {
      throw new JwksError(`fetching ${location.url}: ${(error as Error).message}`);
    }
    if (!response.ok) throw new JwksError(`fetching ${location.url}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    try {
      text = await readFile(location.file, "utf8");
    } catch (error) {
      throw new JwksError(`reading ${location.file}: ${(error as Error).message}`);
    }
  }
  const keys = parseJwks(text);
  if (keys.length === 0) throw new JwksError(`${location.url || location.file}: no RS256 or ES256 signing key`);
  return keys;
}
