/**
 * Reading and compiling settings by the table: environment variables to options, options to
 * compiled options with defaults applied and every value checked.
 */
import { checkCrossSettingRules } from "./cross-setting-checks.js";
import type { CompiledServerOptions, ServerOptions } from "./server-options.js";
import { serverSettings, type SettingKey } from "./server-settings.js";
import { isDerived, type Setting } from "./setting.js";
import { settingError } from "./setting-error.js";

const entries = Object.entries(serverSettings) as [SettingKey, Setting<unknown>][];

/** Defaults that are values (not derived from other settings), by option key. */
export function staticDefaults(): Partial<CompiledServerOptions> {
  const defaults: Record<string, unknown> = {};
  for (const [key, setting] of entries) if (!isDerived(setting.default)) defaults[key] = setting.default;
  return defaults as Partial<CompiledServerOptions>;
}

/**
 * Applies defaults and checks every value against its bounds, then the rules between settings.
 * Throws an InvalidArgumentError whose field is the option key and whose message names the
 * environment variable too.
 */
export function compileSettings(options: ServerOptions): CompiledServerOptions {
  const given = options as Readonly<Record<string, unknown>>;
  const resolved: Record<string, unknown> = {};
  const check = (key: SettingKey, setting: Setting<unknown>): void => {
    const problem = setting.kind.check(resolved[key]);
    if (problem !== undefined) throw settingError({ key, env: setting.env }, problem, "option");
  };
  for (const [key, setting] of entries) {
    if (given[key] !== undefined) resolved[key] = given[key];
    else if (!isDerived(setting.default)) resolved[key] = setting.default;
    else continue;
    check(key, setting);
  }
  for (const [key, setting] of entries) {
    if (resolved[key] !== undefined || !isDerived(setting.default)) continue;
    resolved[key] = setting.default.derive(resolved);
    check(key, setting);
  }
  const compiled = resolved as CompiledServerOptions;
  checkCrossSettingRules(compiled);
  return compiled;
}

/**
 * Reads each setting's environment variable, parses and checks it. An unset variable leaves
 * the option unset, and so does an empty one for text, URL, word and JSON settings; numeric
 * settings refuse empty text. Throws an InvalidArgumentError whose field is the variable and
 * whose message names the option too.
 */
export function readSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): ServerOptions {
  const options: Record<string, unknown> = {};
  for (const [key, setting] of entries) {
    const raw = env[setting.env];
    if (raw === undefined || (setting.kind.blankIsUnset && raw.trim() === "")) continue;
    const parsed = setting.kind.parse(raw);
    const problem = "problem" in parsed ? parsed.problem : setting.kind.check(parsed.value);
    if (problem !== undefined) throw settingError({ key, env: setting.env }, problem, "environment");
    options[key] = (parsed as { value: unknown }).value;
  }
  return options as ServerOptions;
}
