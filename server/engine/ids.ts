import { randomBytes } from "node:crypto";

/**
 * A UUIDv7: 48 bits of Unix milliseconds then random bits, so ids sort by creation time
 * (which makes `id` a good keyset for listing newest first).
 */
export function newTaskId(nowMs: number = Date.now()): string {
  const r = randomSlice(10);
  // 48 bits of milliseconds, big-endian: the top 16 bits, then the low 32.
  const high = Math.floor(nowMs / 0x1_0000_0000);
  const low = nowMs >>> 0;
  return (
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[low >>> 24]! +
    HEX[(low >>> 16) & 0xff]! +
    "-" +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    "-" +
    HEX[(r[0]! & 0x0f) | 0x70]! +
    HEX[r[1]!]! +
    "-" +
    HEX[(r[2]! & 0x3f) | 0x80]! +
    HEX[r[3]!]! +
    "-" +
    HEX[r[4]!]! +
    HEX[r[5]!]! +
    HEX[r[6]!]! +
    HEX[r[7]!]! +
    HEX[r[8]!]! +
    HEX[r[9]!]!
  );
}

/** Two lowercase hex digits of every byte value. */
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * The lowest task id {@link newTaskId} can make at `epochMs`: every task created at that
 * millisecond or later has an id at least this, every task created earlier a lower one.
 */
export function lowestTaskIdAt(epochMs: number): string {
  const hex = Math.floor(epochMs).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7000-8000-000000000000`;
}

/** A random opaque token, e.g. for lease-token prefixes and session ids (pooled random bytes). */
export function randomToken(bytes = 9): string {
  return randomSlice(bytes).toString("base64url");
}

const POOL_BYTES = 8192;
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** `n` random bytes (n ≤ 8 KiB) from a pooled buffer refilled 8 KiB at a time (one call per ~800 ids). */
function randomSlice(n: number): Buffer {
  if (poolOffset + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  const slice = pool.subarray(poolOffset, poolOffset + n);
  poolOffset += n;
  return slice;
}
