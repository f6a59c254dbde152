/**
 * The rule for queue names, shared by the server (which refuses other names with
 * INVALID_ARGUMENT) and the worker SDK (which refuses them in its options, before any
 * connection). The Go and Python SDKs apply the same rule.
 */

/** Longest queue name, in characters. */
export const QUEUE_NAME_MAX_LENGTH = 128;

/** Characters a queue name may hold: letters, digits and `. _ : -`. */
export const QUEUE_NAME_CHARACTERS = "letters, digits and . _ : -";

/** A whole valid queue name: 1-128 characters of `[A-Za-z0-9._:-]`. */
export const QUEUE_NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What is wrong with `name` as a queue name, or undefined when it is valid. The problem
 * does not quote the name: callers quote it (shortened) where they report it.
 *
 * @example
 * queueNameProblem("emails"); // undefined
 * queueNameProblem("my queue"); // "must be 1-128 characters of letters, digits and . _ : -"
 */
export function queueNameProblem(name: string): string | undefined {
  if (name === "") return "is required";
  if (!QUEUE_NAME_PATTERN.test(name)) {
    return `must be 1-${QUEUE_NAME_MAX_LENGTH} characters of ${QUEUE_NAME_CHARACTERS}`;
  }
  return undefined;
}
