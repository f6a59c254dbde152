/**
 * Postgres SQLSTATE classes that blame the data of a statement rather than the database: 22
 * (data exception: NUL in text, a bad Unicode escape in jsonb, a time out of range or NaN),
 * 23 (integrity constraint violation) and 54 (program limit exceeded: a value too large or
 * too deeply nested). Running the same statement again fails the same way; running it without
 * the offending row succeeds.
 */
const DATA_SQLSTATE = /^(22|23|54)/;

/**
 * True when `error` is Postgres refusing a statement's data (see {@link DATA_SQLSTATE}): a
 * group commit then isolates the guilty item instead of failing or retrying the whole batch.
 * Connection and availability errors are not data errors: they are retried.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && code.length === 5 && DATA_SQLSTATE.test(code);
}
