/**
 * The error of a bad setting, naming both the environment variable and the option key: the
 * one the value came through first (`DEFAULT_BACKOFF_MULTIPLIER: must be a number >= 1, got
 * "-1" (option defaultBackoffMultiplier)`, or `defaultBackoffMultiplier: … (environment
 * variable DEFAULT_BACKOFF_MULTIPLIER)`).
 */
import { InvalidArgumentError } from "../errors.js";
import type { SettingProblem } from "./setting.js";

/** Where a bad value came from. */
export type SettingSource = "environment" | "option";

/**
 * Builds the error of a bad setting.
 * @param names the setting's option key and environment variable
 * @param problem what is wrong with the value
 * @param source where the value came from: its name comes first in the message
 */
export function settingError(names: { key: string; env: string }, problem: SettingProblem, source: SettingSource): InvalidArgumentError {
  const [first, other] =
    source === "environment" ? [names.env, `option ${names.key}`] : [names.key, `environment variable ${names.env}`];
  const { path, text } = typeof problem === "string" ? { path: "", text: problem } : { path: `.${problem.path}`, text: problem.problem };
  return new InvalidArgumentError(`${first}${path}`, `${text} (${other})`);
}
