import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileServerOptions, serverOptionsFromEnv } from "./config.js";
import { InvalidArgumentError } from "./errors.js";
import { readmeSettingsTable, renderSettingsTable } from "./settings/readme-table.js";

describe("server configuration", () => {
  it("applies the documented defaults", () => {
    const o = compileServerOptions({});
    expect(o.grpcPort).toBe(50051);
    expect(o.httpPort).toBe(8080);
    expect(o.maxPayloadBytes).toBe(1024 * 1024);
    expect(o.heartbeatIntervalMs).toBe(5_000);
    expect(o.queueRetryDefaults).toEqual({});
    expect(o.finishedTaskRetentionMs).toBe(7 * 24 * 3600 * 1000);
    expect(o.deadTaskRetentionMs).toBe(0);
  });

  it("reads retention settings, 0 meaning keep forever", () => {
    const env = { FINISHED_TASK_RETENTION_MS: "0", DEAD_TASK_RETENTION_MS: "86400000", RETENTION_INTERVAL_MS: "5000" };
    const o = compileServerOptions(serverOptionsFromEnv(env));
    expect([o.finishedTaskRetentionMs, o.deadTaskRetentionMs, o.retentionIntervalMs]).toEqual([0, 86_400_000, 5_000]);
    expect(() => compileServerOptions({ deadTaskRetentionMs: -1 })).toThrow(/^deadTaskRetentionMs: must be an integer >= 0/);
    expect(() => compileServerOptions({ retentionIntervalMs: 0 })).toThrow(/^retentionIntervalMs: must be an integer >= 1/);
  });

  it("reads the commit windows, 0 meaning no wait", () => {
    expect(compileServerOptions({})).toMatchObject({ commitWindowMs: 0, outcomeCommitWindowMs: 5 });
    const o = compileServerOptions(serverOptionsFromEnv({ COMMIT_WINDOW_MS: "2", OUTCOME_COMMIT_WINDOW_MS: "0" }));
    expect([o.commitWindowMs, o.outcomeCommitWindowMs]).toEqual([2, 0]);
    expect(() => compileServerOptions({ outcomeCommitWindowMs: -1 })).toThrow(/^outcomeCommitWindowMs: must be an integer >= 0/);
  });

  it("bounds the payload size and the worker capacity", () => {
    expect(compileServerOptions({}).maxWorkerCapacity).toBe(1000);
    expect(compileServerOptions(serverOptionsFromEnv({ MAX_WORKER_CAPACITY: "50" })).maxWorkerCapacity).toBe(50);
    expect(() => compileServerOptions({ maxWorkerCapacity: 0 })).toThrow(/^maxWorkerCapacity: must be an integer >= 1/);
    expect(() => compileServerOptions({ maxWorkerCapacity: 10_001 })).toThrow(/^maxWorkerCapacity: must be at most 10000/);
    expect(compileServerOptions({ maxPayloadBytes: 4 * 1024 * 1024 - 64 * 1024 }).maxPayloadBytes).toBe(4_128_768);
    expect(() => compileServerOptions({ maxPayloadBytes: 4 * 1024 * 1024 })).toThrow(/^maxPayloadBytes: must be at most 4128768/);
  });

  it("reads the transport limits", () => {
    expect(compileServerOptions({})).toMatchObject({
      maxConnections: 5_000,
      helloTimeoutMs: 10_000,
      streamBufferBytes: 1024 * 1024,
      streamBufferMaxBytes: 16 * 1024 * 1024,
      metricsMaxQueues: 1_000,
      metricsMaxTypes: 100,
      metricsRefreshMs: 10_000,
    });
    const env = { MAX_CONNECTIONS: "10", HELLO_TIMEOUT_MS: "250", STREAM_BUFFER_BYTES: "4096", STREAM_BUFFER_MAX_BYTES: "8192" };
    const o = compileServerOptions(serverOptionsFromEnv(env));
    expect([o.maxConnections, o.helloTimeoutMs, o.streamBufferBytes, o.streamBufferMaxBytes]).toEqual([10, 250, 4096, 8192]);
    expect(() => compileServerOptions({ maxConnections: 0 })).toThrow(/^maxConnections: must be an integer >= 1/);
    expect(() => compileServerOptions({ streamBufferBytes: 2048, streamBufferMaxBytes: 1024 })).toThrow(/^streamBufferMaxBytes: /);
  });

  it("reads per-queue retry defaults from JSON", () => {
    const options = serverOptionsFromEnv({ QUEUE_RETRY_DEFAULTS: '{"emails":{"maxAttempts":5,"initialBackoffMs":250}}' });
    expect(compileServerOptions(options).queueRetryDefaults).toEqual({ emails: { maxAttempts: 5, initialBackoffMs: 250 } });
  });

  it("names the bad setting", () => {
    expect(() => serverOptionsFromEnv({ GRPC_PORT: "abc" })).toThrow(/^GRPC_PORT: must be a number/);
    expect(() => serverOptionsFromEnv({ QUEUE_RETRY_DEFAULTS: "{nope" })).toThrow(InvalidArgumentError);
    expect(() => compileServerOptions({ queueRetryDefaults: { q: { maxAttempts: 0 } } })).toThrow(
      /^queueRetryDefaults\.q\.maxAttempts: must be a number between 1 and 100/,
    );
    expect(() => compileServerOptions({ queueRetryDefaults: { q: { retries: 3 } as never } })).toThrow(/unknown setting/);
    expect(() => compileServerOptions({ leaseDurationMs: 1000, heartbeatIntervalMs: 1000 })).toThrow(/^heartbeatIntervalMs: /);
  });

  it("refuses fractions, non-numbers and empty text for integer settings", () => {
    expect(() => serverOptionsFromEnv({ MAX_CONNECTIONS: "1.5" })).toThrow(/^MAX_CONNECTIONS: must be an integer, got "1\.5" \(option maxConnections\)$/);
    expect(() => serverOptionsFromEnv({ GRPC_PORT: "" })).toThrow(/^GRPC_PORT: must be a number, got "" \(option grpcPort\)$/);
    expect(() => serverOptionsFromEnv({ LEASE_DURATION_MS: "  " })).toThrow(/^LEASE_DURATION_MS: must be a number/);
    expect(() => serverOptionsFromEnv({ COMMIT_MAX_BATCH: "1e3" })).toThrow(/^COMMIT_MAX_BATCH: must be an integer, got "1e3"/);
    expect(() => compileServerOptions({ maxConnections: 1.5 })).toThrow(
      /^maxConnections: must be an integer >= 1, got 1\.5 \(environment variable MAX_CONNECTIONS\)$/,
    );
    expect(serverOptionsFromEnv({ MAX_CONNECTIONS: " 12 " }).maxConnections).toBe(12);
  });

  it("bounds the server-wide back-off defaults", () => {
    const o = compileServerOptions(
      serverOptionsFromEnv({ DEFAULT_BACKOFF_MS: "0", DEFAULT_MAX_BACKOFF_MS: "604800000", DEFAULT_BACKOFF_MULTIPLIER: "1.5" }),
    );
    expect([o.defaultInitialBackoffMs, o.defaultMaxBackoffMs, o.defaultBackoffMultiplier]).toEqual([0, 604_800_000, 1.5]);
    expect(() => serverOptionsFromEnv({ DEFAULT_BACKOFF_MS: "-1" })).toThrow(
      /^DEFAULT_BACKOFF_MS: must be an integer >= 0, got -1 \(option defaultInitialBackoffMs\)$/,
    );
    expect(() => serverOptionsFromEnv({ DEFAULT_BACKOFF_MS: "86400001" })).toThrow(/^DEFAULT_BACKOFF_MS: must be at most 86400000, got 86400001/);
    expect(() => serverOptionsFromEnv({ DEFAULT_MAX_BACKOFF_MS: "-1" })).toThrow(
      /^DEFAULT_MAX_BACKOFF_MS: must be an integer >= 0, got -1 \(option defaultMaxBackoffMs\)$/,
    );
    expect(() => serverOptionsFromEnv({ DEFAULT_MAX_BACKOFF_MS: "604800001" })).toThrow(/^DEFAULT_MAX_BACKOFF_MS: must be at most 604800000/);
    expect(() => serverOptionsFromEnv({ DEFAULT_BACKOFF_MULTIPLIER: "-1" })).toThrow(
      /^DEFAULT_BACKOFF_MULTIPLIER: must be a number >= 1, got -1 \(option defaultBackoffMultiplier\)$/,
    );
    expect(() => serverOptionsFromEnv({ DEFAULT_BACKOFF_MULTIPLIER: "101" })).toThrow(/^DEFAULT_BACKOFF_MULTIPLIER: must be at most 100/);
    expect(() => compileServerOptions({ defaultInitialBackoffMs: -1 })).toThrow(
      /^defaultInitialBackoffMs: must be an integer >= 0, got -1 \(environment variable DEFAULT_BACKOFF_MS\)$/,
    );
    expect(() => compileServerOptions({ defaultMaxBackoffMs: 1.5 })).toThrow(/^defaultMaxBackoffMs: must be an integer >= 0, got 1\.5/);
    expect(() => compileServerOptions({ defaultBackoffMultiplier: 0.5 })).toThrow(
      /^defaultBackoffMultiplier: must be a number >= 1, got 0\.5 \(environment variable DEFAULT_BACKOFF_MULTIPLIER\)$/,
    );
  });

  it("checks the text settings", () => {
    expect(serverOptionsFromEnv({ HOST: "", LOG_LEVEL: "", QUEUE_RETRY_DEFAULTS: " " })).toEqual({});
    expect(() => serverOptionsFromEnv({ LOG_LEVEL: "verbose" })).toThrow(/^LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(() => serverOptionsFromEnv({ REDIS_URL: "127.0.0.1:6379" })).toThrow(/^REDIS_URL: must be a URL/);
    expect(serverOptionsFromEnv({ DATABASE_URL: "postgres://postgres@/taskqueue?host=/var/run/postgresql" }).databaseUrl).toBe(
      "postgres://postgres@/taskqueue?host=/var/run/postgresql",
    );
    expect(() => serverOptionsFromEnv({ QUEUE_RETRY_DEFAULTS: '{"q":{"maxAttempts":0}}' })).toThrow(
      /^QUEUE_RETRY_DEFAULTS\.q\.maxAttempts: must be a number between 1 and 100 \(option queueRetryDefaults\)$/,
    );
  });

  it("keeps the README's configuration table as the settings table writes it", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readmeSettingsTable(readme)).toBe(renderSettingsTable());
  });
});
