import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { userInfo } from "node:os";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findFreePort } from "../tools/local-services/free-port.js";
import { startPostgresProcess, type PostgresProcess } from "../tools/local-services/postgres-process.js";
import { startRedisProcess, type RedisProcess } from "../tools/local-services/redis-process.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { compileServerOptions } from "../server/config.js";
import { requireServiceBinaries } from "./support/service-binaries.js";
import { makeTestCertificates, type TestCertificates } from "./support/test-certificates.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitForState } from "./support/tasks.js";

/**
 * The server's own connections over TLS: Redis (Debian's redis-server with `--tls-port`, client
 * certificates required, its default) through `rediss://` and REDIS_TLS_*, and Postgres with
 * `ssl=on` through `sslmode=verify-full&sslrootcert=…` in DATABASE_URL. Certificates by openssl.
 */

let certs: TestCertificates;
let pgDir: string;
let redis: RedisProcess;
let postgres: PostgresProcess;
let redisTlsPort: number;

beforeAll(async () => {
  certs = makeTestCertificates();
  const binaries = await requireServiceBinaries({ redis: true, postgres: true });
  redisTlsPort = await findFreePort();
  // Postgres reads its key as its own account, and refuses a key others can read.
  pgDir = mkdtempSync(join(tmpdir(), "tq-pg-tls-"));
  chmodSync(pgDir, 0o755);
  for (const name of ["server.pem", "server.key"]) copyFileSync(certs.file(name), join(pgDir, name));
  chmodSync(join(pgDir, "server.key"), 0o600);
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    for (const name of ["server.pem", "server.key"]) chownSync(join(pgDir, name), uid, gid);
  }
  [redis, postgres] = await Promise.all([
    startRedisProcess({
      binary: binaries.redisServer,
      args: ["--tls-port", String(redisTlsPort), "--tls-cert-file", certs.file("server.pem"), "--tls-key-file", certs.file("server.key"), "--tls-ca-cert-file", certs.file("ca.pem")],
    }),
    startPostgresProcess({
      fsync: false,
      binDir: binaries.postgresBinDir,
      settings: { ssl: "on", ssl_cert_file: join(pgDir, "server.pem"), ssl_key_file: join(pgDir, "server.key") },
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop()]);
  if (pgDir) rmSync(pgDir, { recursive: true, force: true });
  certs?.remove();
});

describe("TLS to Redis and Postgres", () => {
  let ts: TestServer;
  afterAll(async () => {
    await ts?.stop();
  });

  it("runs tasks with rediss:// (client certificate) and Postgres sslmode=verify-full, every Postgres connection encrypted", async () => {
    const databaseUrl = `${postgres.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.file("ca.pem"))}`;
    ts = await startTestServer({
      redisUrl: `rediss://127.0.0.1:${redisTlsPort}`,
      redisTlsCaFile: certs.file("ca.pem"),
      redisTlsCertFile: certs.file("client.pem"),
      redisTlsKeyFile: certs.file("client.key"),
      databaseUrl,
    });
    const queue = uniqueQueue("backend-tls");
    const { task } = await ts.grpc.submitTask({ queue, type: "t" });
    await ts.grpc.cancelTask({ id: task!.id });
    expect((await waitForState(ts.grpc, task!.id, TaskState.CANCELLED)).queue).toBe(queue);

    // Every connection of the server to this Postgres uses TLS.
    const check = new pg.Client({ connectionString: databaseUrl });
    await check.connect();
    try {
      const { rows } = await check.query<{ ssl: boolean; n: string }>(
        "select s.ssl, count(*) as n from pg_stat_ssl s join pg_stat_activity a using (pid) where a.backend_type = 'client backend' and a.datname = current_database() group by s.ssl",
      );
      expect(rows.map((r) => r.ssl)).toEqual([true]);
      expect(Number(rows[0]!.n)).toBeGreaterThan(1);
    } finally {
      await check.end();
    }
  }, 60_000);

  it("refuses REDIS_TLS_* without a rediss:// URL, and a client certificate without its key", () => {
    expect(() => compileServerOptions({ redisUrl: "redis://127.0.0.1:6379", redisTlsCaFile: certs.file("ca.pem") })).toThrow(/need a rediss:\/\/ REDIS_URL/);
    expect(() => compileServerOptions({ redisUrl: "rediss://127.0.0.1:6379", redisTlsCertFile: certs.file("client.pem") })).toThrow(/go together/);
  });
});
