import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";

const luaDir = fileURLToPath(new URL("./lua/", import.meta.url));

/** Names of the Lua scripts in `lua/` (each is prefixed with `lib.lua` when loaded). */
export const scriptNames = [
  "enqueue",
  "lease",
  "extend",
  "complete",
  "reap",
  "release",
  "promote",
  "cancel",
  "probe",
  "expire",
] as const;

/** One of {@link scriptNames}. */
export type ScriptName = (typeof scriptNames)[number];

/** Reply shapes are nested arrays of strings, numbers and (for the Buffer variant) Buffers. */
export type LuaReply = unknown;

/** Calls a loaded script with its ARGV (the prefix and clock are the caller's first two). */
export type ScriptRunner = (name: ScriptName, args: Array<string | number | Buffer>, binary?: boolean) => Promise<LuaReply>;

/**
 * Reads the scripts once and registers them on the connection as ioredis commands (run by
 * EVALSHA, reloaded automatically after a Redis restart).
 */
export function loadScripts(redis: Redis): ScriptRunner {
  const lib = readFileSync(luaDir + "lib.lua", "utf8");
  for (const name of scriptNames) {
    const body = readFileSync(`${luaDir}${name}.lua`, "utf8");
    redis.defineCommand(`tq_${name}`, { numberOfKeys: 0, lua: `${lib}\n${body}` });
  }
  const commands = redis as unknown as Record<string, (...args: unknown[]) => Promise<LuaReply>>;
  return (name, args, binary = false) => {
    const command = commands[binary ? `tq_${name}Buffer` : `tq_${name}`];
    return command!.apply(redis, args);
  };
}
