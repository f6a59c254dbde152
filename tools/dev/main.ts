/**
 * `npm run dev`: brings up the whole local stack (Postgres or embedded PGlite, Redis, the
 * server and the example worker) and stops all of it on Ctrl-C (SIGINT) or SIGTERM. Exits
 * non-zero when a part fails to start or a child exits on its own.
 */
import { compileDevStackOptions } from "./dev-options.js";
import { startDevStack, type DevStack } from "./dev-stack.js";

const options = compileDevStackOptions();
let stack: DevStack | undefined;
let stopRequested: NodeJS.Signals | undefined;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopRequested !== undefined) {
      process.stdout.write(`[dev] ${signal} received, already stopping\n`);
      return;
    }
    stopRequested = signal;
    if (stack !== undefined) void stack.stop(signal);
  });
}

try {
  stack = await startDevStack(options);
} catch (error) {
  process.stderr.write(`[dev] failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
if (stopRequested !== undefined) void stack.stop(stopRequested);
process.exit(await stack.done);
