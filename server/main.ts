import { compileServerOptions, serverOptionsFromEnv, type CompiledServerOptions } from "./config.js";
import { InvalidArgumentError } from "./errors.js";
import { createLogger } from "./observability/logger.js";
import { startServer } from "./app.js";
import { SHUTDOWN_GRACE_MS } from "./engine/shutdown-budget.js";
import { shutdownRegisteredTracing } from "../wire/otel-sdk.js";

/** How long after the shutdown's bound the process is ended regardless. */
const WATCHDOG_MARGIN_MS = 500;

/**
 * `npm run server`: reads the environment, starts the server, stops it on SIGTERM / SIGINT. A
 * bad setting ends the process at once (exit 1) with one line naming the variable.
 */
let options: CompiledServerOptions;
try {
  options = compileServerOptions(serverOptionsFromEnv());
} catch (error) {
  if (!(error instanceof InvalidArgumentError)) throw error;
  process.stderr.write(`taskqueue-server: invalid configuration: ${error.message}\n`);
  process.exit(1);
}
const logger = createLogger({ name: "taskqueue-server", level: options.logLevel });
try {
  const server = await startServer(options, logger);
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    logger.info({ signal, drainTimeoutMs: options.drainTimeoutMs }, "shutting down: draining workers");
    // stop() is bounded by DRAIN_TIMEOUT_MS + SHUTDOWN_GRACE_MS; this only guards against a
    // step that does not honour its bound.
    setTimeout(() => {
      logger.error("shutdown overran its bound: exiting now");
      process.exit(1);
    }, options.drainTimeoutMs + SHUTDOWN_GRACE_MS + WATCHDOG_MARGIN_MS);
    server.stop().then(
      // Exit 1 when a step was cut short: what it had not written is left to recovery.
      (report) => void shutdownRegisteredTracing().finally(() => process.exit(report.complete ? 0 : 1)),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (error) {
  logger.fatal({ err: error }, "server failed to start");
  process.exit(1);
}
