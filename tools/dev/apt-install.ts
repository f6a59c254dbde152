import { spawn } from "node:child_process";
import { LocalServiceError } from "../local-services/errors.js";

/** Runs a shell command non-interactively (DEBIAN_FRONTEND=noninteractive); rejects on failure. */
export function runShell(command: string, stdio: "inherit" | "ignore"): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], {
      stdio: ["ignore", stdio, stdio],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new LocalServiceError(`"${command}" failed (${signal ?? `exit code ${code}`})`));
    });
  });
}
