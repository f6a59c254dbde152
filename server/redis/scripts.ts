import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RedisClient } from "./connection.js";
import { encodeRespCommand, PreEncodedCommand, type RespArgument } from "./resp-command.js";

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
  "stats",
  "forget",
] as const;

/** One of {@link scriptNames}. */
export type ScriptName = (typeof scriptNames)[number];

/** Reply shapes are arrays of strings, numbers and (for the Buffer variant) Buffers. */
export type LuaReply = unknown;

/**
 * Calls a loaded script with the keys it touches (`EVALSHA sha numkeys keys... args...`) and its
 * ARGV (the queue's key prefix and the clock are the caller's first two). Every script works on
 * one queue: `keys` are that queue's (see `keys.ts`), never empty.
 */
export type ScriptRunner = (name: ScriptName, keys: readonly string[], args: RespArgument[], binary?: boolean) => Promise<LuaReply>;

interface LoadedScript {
  source: string;
  sha: string;
}

/** Told about each script call: its duration in seconds and whether it failed (metrics). */
export type ScriptCallObserver = (seconds: number, failed: boolean) => void;

/**
 * Reads the scripts once and returns a runner that calls them by EVALSHA, encoding each call
 * in one piece, routed by its first key (Redis Cluster: the node holding the queue's slot). A
 * script that node does not know (first use, after a restart or a failover) is sent once as
 * EVAL, which also caches it there. With `observe`, each call's duration and
 * failure are reported to the observer it returns for the script's name.
 */
export function loadScripts(redis: RedisClient, observe?: (name: ScriptName) => ScriptCallObserver): ScriptRunner {
  const lib = readFileSync(luaDir + "lib.lua", "utf8");
  const scripts = new Map<ScriptName, LoadedScript>();
  for (const name of scriptNames) {
    const source = `${lib}\n${readFileSync(`${luaDir}${name}.lua`, "utf8")}`;
    scripts.set(name, { source, sha: createHash("sha1").update(source).digest("hex") });
  }
  const run: ScriptRunner = async (name, keys, args, binary = false) => {
    const script = scripts.get(name)!;
    if (keys.length === 0) throw new Error(`script ${name} called without its keys`);
    const encoding = binary ? null : "utf8";
    const encoded = encodeRespCommand(["EVALSHA", script.sha, keys.length, ...keys], args);
    try {
      return await redis.sendCommand(new PreEncodedCommand("evalsha", encoded, encoding, keys[0]!));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      const withSource = encodeRespCommand(["EVAL", script.source, keys.length, ...keys], args);
      return await redis.sendCommand(new PreEncodedCommand("eval", withSource, encoding, keys[0]!));
    }
  };
  if (!observe) return run;
  const observers = new Map(scriptNames.map((name) => [name, observe(name)]));
  return async (name, keys, args, binary) => {
    const startNs = process.hrtime.bigint();
    const observer = observers.get(name)!;
    try {
      const reply = await run(name, keys, args, binary);
      observer(Number(process.hrtime.bigint() - startNs) / 1e9, false);
      return reply;
    } catch (error) {
      observer(Number(process.hrtime.bigint() - startNs) / 1e9, true);
      throw error;
    }
  };
}
