/**
 * The kinds of setting values: integers and numbers with bounds, text, URLs, one of a set of
 * words, and JSON with a check of its own. Each parses an environment variable's text and
 * checks a value, answering a problem in the words error messages use.
 */
import type { SettingKind, SettingProblem } from "./setting.js";

/** Bounds of a numeric setting, inclusive. */
export interface Bounds {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value; default `Number.MAX_SAFE_INTEGER`. */
  max?: number;
}

/** Longest timer Node keeps (2^31 - 1 ms, about 24.8 days): a longer one fires at once. */
export const TIMER_MAX_MS = 2 ** 31 - 1;

const DECIMAL_INTEGER = /^[+-]?\d+$/;

/** Parses a number's text: refuses empty text and anything `Number` does not read. */
function parseNumber(text: string): { value: number } | { problem: string } {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === "" || !Number.isFinite(value)) return { problem: `must be a number, got ${JSON.stringify(text)}` };
  return { value };
}

/** An integer between the bounds; its text is decimal digits with an optional sign. */
export function integer(bounds: Bounds): SettingKind<number> {
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return {
    parse(text) {
      const parsed = parseNumber(text);
      if ("problem" in parsed) return parsed;
      if (!DECIMAL_INTEGER.test(text.trim())) return { problem: `must be an integer, got ${JSON.stringify(text)}` };
      return parsed;
    },
    check(value) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < bounds.min) {
        return `must be an integer >= ${bounds.min}, got ${String(value)}`;
      }
      if (value > max) return `must be at most ${max}, got ${value}`;
      return undefined;
    },
    format: String,
    blankIsUnset: false,
  };
}

/** A finite number between the bounds (fractions allowed). */
export function number(bounds: Bounds): SettingKind<number> {
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return {
    parse: parseNumber,
    check(value) {
      if (typeof value !== "number" || !Number.isFinite(value) || value < bounds.min) {
        return `must be a number >= ${bounds.min}, got ${String(value)}`;
      }
      if (value > max) return `must be at most ${max}, got ${value}`;
      return undefined;
    },
    format: String,
    blankIsUnset: false,
  };
}

/** Any text; with `forbidden`, text matching it is refused (`forbiddenDoc` names what it matches). */
export function text(options: { forbidden?: RegExp; forbiddenDoc?: string } = {}): SettingKind<string> {
  return {
    parse: (value) => ({ value }),
    check(value) {
      if (typeof value !== "string") return `must be text, got ${JSON.stringify(value)}`;
      if (options.forbidden?.test(value)) return `must not contain ${options.forbiddenDoc ?? String(options.forbidden)}, got ${JSON.stringify(value)}`;
      return undefined;
    },
    format: (value) => value,
    blankIsUnset: true,
  };
}

/** A file-system path; empty text is a value of its own (e.g. "disabled"), not "unset". */
export function filePath(): SettingKind<string> {
  return {
    parse: (value) => ({ value: value.trim() }),
    check: (value) => (typeof value === "string" && !value.includes("\0") ? undefined : `must be a path, got ${JSON.stringify(value)}`),
    format: (value) => value,
    blankIsUnset: false,
  };
}

/**
 * A URL with one of the given schemes. Only the scheme is checked: the clients accept forms a
 * WHATWG URL parser refuses (`postgres://user@/db?host=/run/postgresql`).
 */
export function url(schemes: readonly string[]): SettingKind<string> {
  const pattern = new RegExp(`^(${schemes.join("|")}):`, "i");
  return {
    parse: (value) => ({ value }),
    check(value) {
      if (typeof value === "string" && pattern.test(value)) return undefined;
      return `must be a URL (${schemes.map((s) => `${s}:`).join(", ")}), got ${JSON.stringify(value)}`;
    },
    format: (value) => value,
    blankIsUnset: true,
  };
}

/** One of a set of words. */
export function oneOf<const W extends string>(words: readonly W[]): SettingKind<W> {
  return {
    parse: (value) => ({ value: value as W }),
    check: (value) =>
      typeof value === "string" && (words as readonly string[]).includes(value)
        ? undefined
        : `must be one of ${words.join(", ")}, got ${JSON.stringify(value)}`,
    format: (value) => value,
    blankIsUnset: true,
  };
}

/**
 * A JSON text, whose parsed value `check` validates.
 * @param check answers the problem of a value, or undefined when it is valid
 */
export function json<T>(check: (value: unknown) => SettingProblem | undefined): SettingKind<T> {
  return {
    parse(text) {
      try {
        return { value: JSON.parse(text) as T };
      } catch (error) {
        return { problem: `must be JSON: ${(error as Error).message}` };
      }
    },
    check,
    format: (value) => JSON.stringify(value),
    blankIsUnset: true,
  };
}
