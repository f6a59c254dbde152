/**
 * The shape of one server setting: where it is read from, how its text is parsed and checked,
 * its default and its documentation. The settings table (`server-settings.ts`) is a record of
 * these; the options types, the defaults, environment parsing, validation and the README's
 * configuration table all derive from it.
 */

/**
 * What is wrong with a value: a sentence such as `must be an integer >= 1, got 0`, or one about
 * a part of it (`path` such as `emails.maxAttempts`, appended to the setting's name).
 */
export type SettingProblem = string | { path: string; problem: string };

/**
 * How a setting's value is read from text and checked. A kind carries the setting's bounds,
 * so that a value given as an option is checked exactly as one read from the environment.
 */
export interface SettingKind<T> {
  /**
   * Parses an environment variable's text.
   * @returns the value, or a problem such as `must be a number, got "abc"`
   */
  parse(text: string): { value: T } | { problem: string };
  /**
   * Checks a value (parsed, given as an option, or a default).
   * @returns a problem such as `must be an integer >= 1, got 0`, or undefined when it is valid
   */
  check(value: unknown): SettingProblem | undefined;
  /** Writes a value as the README's default column shows it (without backticks). */
  format(value: T): string;
  /** True when an empty (or blank) variable means "unset" rather than a bad value. */
  blankIsUnset: boolean;
}

/** A default computed from other settings once they are known (e.g. lease / 3). */
export interface DerivedDefault<T> {
  /** Computes the default from the other settings, already resolved. */
  derive(options: Readonly<Record<string, unknown>>): T;
  /** How the README states it, e.g. "lease / 3". */
  doc: string;
}

/** One setting of the table. */
export interface Setting<T> {
  /** The environment variable, e.g. `GRPC_PORT`. */
  env: string;
  /** Parser and bounds. */
  kind: SettingKind<T>;
  /** The value when neither the option nor the variable is given. */
  default: T | DerivedDefault<T>;
  /**
   * The README's default column when the formatted default would not say it well (markdown,
   * e.g. "none"); without it the default is shown formatted, in backticks.
   */
  defaultDoc?: string;
  /** The README's meaning column (markdown, one line). */
  doc: string;
}

/** The value type of a setting. */
export type SettingValue<S> = S extends Setting<infer T> ? T : never;

/** Declares one setting; the identity, there to infer its value type. */
export function defineSetting<T>(setting: Setting<T>): Setting<T> {
  return setting;
}

/** A default computed from other settings (see {@link DerivedDefault}). */
export function derived<T>(doc: string, derive: (options: Readonly<Record<string, unknown>>) => T): DerivedDefault<T> {
  return { doc, derive };
}

/** True when a setting's default is derived from other settings. */
export function isDerived<T>(value: T | DerivedDefault<T>): value is DerivedDefault<T> {
  return typeof value === "object" && value !== null && typeof (value as DerivedDefault<T>).derive === "function";
}
