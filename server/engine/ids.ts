import { randomBytes } from "node:crypto";

/**
 * A UUIDv7: 48 bits of Unix milliseconds then random bits, so ids sort by creation time
 * (which makes `id` a good keyset for listing newest first).
 */
export function newTaskId(nowMs: number = Date.now()): string {
  const bytes = Buffer.from(randomSlice(16));
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A random opaque token, e.g. for lease-token prefixes and session ids. */
export function randomToken(bytes = 9): string {
  return randomBytes(bytes).toString("base64url");
}

const POOL_BYTES = 8192;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `n` random bytes from a pooled buffer refilled 8 KiB at a time (one syscall per ~500 ids). */
function randomSlice(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return slice;
}
