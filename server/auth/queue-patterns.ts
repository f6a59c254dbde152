/** Longest queue pattern accepted, in characters. */
export const MAX_QUEUE_PATTERN_LENGTH = 256;

/** Tells whether a queue name is within a token's scope. */
export interface QueueScope {
  /** The patterns as given, e.g. `["emails*", "sms"]`. */
  readonly patterns: readonly string[];
  /** True when the scope is every queue (some pattern is `*`): no per-queue check is needed. */
  readonly all: boolean;
  /** Whether `queue` matches one of the patterns. */
  allows(queue: string): boolean;
}

/**
 * Compiles queue-name patterns, where `*` matches any run of characters (none included) and
 * every other character only itself. No pattern (an empty list) means every queue.
 *
 * @example
 * ```ts
 * compileQueueScope(["emails*"]).allows("emails.high"); // true
 * ```
 */
export function compileQueueScope(patterns: readonly string[]): QueueScope {
  const effective = patterns.length === 0 ? ["*"] : [...patterns];
  const all = effective.includes("*");
  const exact = new Set(effective.filter((p) => !p.includes("*")));
  const wildcards = effective.filter((p) => p.includes("*")).map(patternRegExp);
  return {
    patterns: effective,
    all,
    allows: all ? () => true : (queue) => exact.has(queue) || wildcards.some((re) => re.test(queue)),
  };
}

/** The problem with a pattern given to CreateToken, or undefined when it is fine. */
export function queuePatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return "must not be empty";
  if (pattern.length > MAX_QUEUE_PATTERN_LENGTH) return `must be at most ${MAX_QUEUE_PATTERN_LENGTH} characters`;
  if (/[\s\p{Cc}]/u.test(pattern)) return "must not contain spaces or control characters";
  return undefined;
}

function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}
