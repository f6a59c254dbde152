/**
 * The server's options types, derived from the settings table: one field per setting, named by
 * its option key, typed by its parser.
 */
import type { serverSettings, SettingKey } from "./server-settings.js";
import type { SettingValue } from "./setting.js";

/** Server settings with every default applied. */
export type CompiledServerOptions = { [K in SettingKey]: SettingValue<(typeof serverSettings)[K]> };

/**
 * Server settings, every one optional; see the settings table (`server-settings.ts`) for each
 * one's environment variable, default, bounds and meaning.
 */
export type ServerOptions = Partial<CompiledServerOptions>;
