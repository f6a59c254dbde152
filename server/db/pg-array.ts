/**
 * Postgres array literals for the group-commit statements' `unnest` parameters. The driver
 * turns a JS array into the same text, but through a generic per-element path (type checks,
 * a regex replace per string, a hex string per Buffer) that costs several microseconds per
 * row; these builders do the same for the few element types the writers use.
 */

/** `{1,2.5,NULL}`: numbers in decimal, null as NULL. */
export function numberArray(values: ReadonlyArray<number | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : String(v);
  }
  return out + "}";
}

/** `{"a","b \"c\"",NULL}`: every string quoted, `"` and `\` escaped, null as NULL. */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, "\\$&") : v}"`;
  }
  return out + "}";
}

/** `{"\\x0102",NULL}`: bytes in hex input form, null as NULL. */
export function byteaArray(values: ReadonlyArray<Uint8Array | null>): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ",";
    out += v === null || v === undefined ? "NULL" : `"\\\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}"`;
  }
  return out + "}";
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;
