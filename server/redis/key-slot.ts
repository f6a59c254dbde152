/**
 * Redis Cluster's hash slot of a key: CRC16 (XModem) of the key's hash tag (the text between
 * the first `{` and the next `}`, when not empty) or of the whole key, modulo 16384.
 */
export const SLOT_COUNT = 16_384;

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** Every hash slot, 0–16383: what a single Redis holds. */
export function everySlot(): Set<number> {
  return new Set(Array.from({ length: SLOT_COUNT }, (_, slot) => slot));
}

/** The hash slot (0–16383) Redis Cluster assigns to `key`. */
export function keySlot(key: string): number {
  const bytes = Buffer.from(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b); // {
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // }
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc % SLOT_COUNT;
}
