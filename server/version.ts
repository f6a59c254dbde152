import { readFileSync } from "node:fs";

/** Reads the server's version: the `version` of the package.json at the repository root. */
export function readServerVersion(): string {
  try {
    const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
