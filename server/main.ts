import { compileServerOptions, serverOptionsFromEnv } from "./config.js";
import { createLogger } from "./observability/logger.js";
import { startServer } from "./app.js";

/** `npm run server`: reads the environment, starts the server, stops it on SIGTERM / SIGINT. */
const options = compileServerOptions(serverOptionsFromEnv());
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
    logger.info({ signal }, "shutting down: draining workers");
    server.stop().then(
      () => process.exit(0),
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
