/// <reference lib="es2024.string" />
/**
 * What Postgres can store as text: never U+0000 (refused by `text` and by `jsonb`), and only
 * well-formed UTF-16 (a lone surrogate is refused by `jsonb`, and silently becomes U+FFFD on
 * its way into `text`, so two different strings would be stored as one). The reference above
 * names `String.prototype.isWellFormed` / `toWellFormed`, which Node 20 has.
 */

/** True when `value` can be stored in a `text` or `jsonb` column unchanged. */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

/**
 * Why `value` cannot be stored unchanged, worded as the end of an error message ("must not
 * contain NUL …"), or undefined when it can.
 */
export function unstorableTextProblem(value: string): string | undefined {
  if (value.includes("\u0000")) return "must not contain NUL characters (U+0000)";
  if (!value.isWellFormed()) return "must be valid UTF-8 (it holds undecodable bytes or a lone surrogate)";
  return undefined;
}

/** `value` with every NUL and every lone surrogate replaced by U+FFFD: storable as text. */
export function toStorableText(value: string): string {
  const wellFormed = value.toWellFormed();
  return wellFormed.includes("\u0000") ? wellFormed.replaceAll("\u0000", "\uFFFD") : wellFormed;
}
