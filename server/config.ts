/**
 * The server's configuration: environment variables → options → compiled options. Every
 * setting is declared once, in the settings table (`settings/server-settings.ts`); this module
 * is the entry point callers use.
 */
import { compileSettings, readSettingsFromEnv, staticDefaults } from "./settings/resolve-settings.js";
import type { CompiledServerOptions, ServerOptions } from "./settings/server-options.js";

export type { QueueRetryDefaults } from "./settings/queue-retry-defaults.js";
export type { CompiledServerOptions, ServerOptions } from "./settings/server-options.js";

/** Defaults used by {@link compileServerOptions}, except those derived from other settings. */
export const serverDefaults: Partial<CompiledServerOptions> = staticDefaults();

/**
 * Applies defaults and checks every setting's bounds and the rules between settings. Throws an
 * InvalidArgumentError naming the bad setting (`"<optionKey>: <problem>"`, the problem naming
 * its environment variable).
 */
export function compileServerOptions(options: ServerOptions = {}): CompiledServerOptions {
  return compileSettings(options);
}

/**
 * Reads {@link ServerOptions} from environment variables (unset ones stay undefined), parsing
 * and bounds-checking each. Throws an InvalidArgumentError naming the variable
 * (`"<VARIABLE>: <problem>"`, the problem naming its option).
 */
export function serverOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ServerOptions {
  return readSettingsFromEnv(env);
}
