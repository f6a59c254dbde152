/**
 * The times the server stores: from 0001-01-01 to 9999-12-31 (UTC), well inside what
 * Postgres' `timestamptz` takes (4713 BC to 294276 AD) and what a JS Date holds, so that a
 * time plus a duration of up to days still is one.
 */

/** 0001-01-01T00:00:00Z in epoch milliseconds. */
export const MIN_STORABLE_TIME_MS = -62_135_596_800_000;

/** 9999-12-31T23:59:59.999Z in epoch milliseconds. */
export const MAX_STORABLE_TIME_MS = 253_402_300_799_999;

/** True when `ms` (epoch milliseconds) is a time the server stores; false for NaN. */
export function isStorableTimeMs(ms: number): boolean {
  return ms >= MIN_STORABLE_TIME_MS && ms <= MAX_STORABLE_TIME_MS;
}
