import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it, inject } from "vitest";
import { NodeScriptProcess } from "./support/node-process.js";
import { createTestDatabase } from "./support/test-server.js";

/** How long `npm run server` may take to load and give up on a bad setting. */
const EXIT_DEADLINE_MS = 20_000;

let server: NodeScriptProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe("npm run server with a bad setting", () => {
  it("exits at once, non-zero, with one line naming the variable", async () => {
    // Real services and free ports, so that a server that ignored the setting would start.
    server = new NodeScriptProcess({
      name: "server",
      script: "server/main.ts",
      env: {
        DATABASE_URL: await createTestDatabase(),
        REDIS_URL: inject("redisUrl"),
        REDIS_PREFIX: `tq-test-${randomBytes(4).toString("hex")}:`,
        GRPC_PORT: "0",
        HTTP_PORT: "0",
        DEFAULT_BACKOFF_MULTIPLIER: "-1",
      },
    });
    const exit = await server.waitForExit(EXIT_DEADLINE_MS);
    expect(exit.code).toBe(1);
    expect(server.logs().map((entry) => entry.raw)).toEqual([
      "taskqueue-server: invalid configuration: DEFAULT_BACKOFF_MULTIPLIER: must be a number >= 1, got -1 (option defaultBackoffMultiplier)",
    ]);
  });
});
