import { createHash, randomBytes } from "node:crypto";

/** Every API token starts with this, so that leaked tokens are easy to recognise and scan for. */
export const TOKEN_PREFIX = "tq_";

/** Characters of a secret kept (with the prefix) to recognise a token in listings. */
const SHOWN_CHARACTERS = 4;

/** A new token secret: `tq_` and 32 random bytes in base64url (43 characters). */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/** The stored form of a secret: its SHA-256 hash, hex. A 256-bit random secret needs no salt. */
export function hashTokenSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The start of a secret shown in listings, e.g. `tq_AbCd`. */
export function shownPrefix(secret: string): string {
  return secret.slice(0, TOKEN_PREFIX.length + SHOWN_CHARACTERS);
}
