import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startEmbeddedPostgres } from "../tools/local-services/embedded-postgres.js";
import { startPostgresProcess, type PostgresProcess } from "../tools/local-services/postgres-process.js";
import { listProcessTree, readProcessInfo } from "../tools/local-services/process-state.js";
import { pingRedis } from "../tools/local-services/redis-ping.js";
import { startRedisProcess, type RedisProcess } from "../tools/local-services/redis-process.js";
import { BinaryNotFoundError } from "../tools/local-services/errors.js";
import { MissingServiceBinariesError, requireServiceBinaries } from "./support/service-binaries.js";
import { waitFor, WaitTimeoutError } from "./support/wait-for.js";

async function withRedis<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

async function withPg<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** True while `pid` exists and is not a zombie waiting to be reaped. */
async function isAlive(pid: number): Promise<boolean> {
  const info = await readProcessInfo(pid);
  return info !== undefined && info.state !== "Z" && info.state !== "X";
}

describe("the run's shared services (global setup)", () => {
  it("provides a Redis that answers PING", async () => {
    expect(await withRedis(inject("redisUrl"), (redis) => redis.ping())).toBe("PONG");
  });

  it("provides a Postgres with the taskqueue database", async () => {
    const row = await withPg(inject("databaseUrl"), async (client) => (await client.query("select 1 as one")).rows[0]);
    expect(row).toEqual({ one: 1 });
  });
});

describe("requireServiceBinaries (the test run's check before it starts its servers)", () => {
  const nothingInstalled = {
    findRedisServer: async () => undefined,
    findPostgresBinDir: async (): Promise<string> => {
      throw new BinaryNotFoundError("postgres", "not found");
    },
  };

  it("fails at once naming every missing binary, its package and how to install it", async () => {
    const failure = await requireServiceBinaries({ redis: true, postgres: true }, nothingInstalled).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MissingServiceBinariesError);
    expect((failure as MissingServiceBinariesError).packages).toEqual(["redis-server", "postgresql"]);
    const message = (failure as Error).message;
    expect(message).toMatch(/redis-server and the Postgres server \(initdb, postgres\) are not installed/);
    expect(message).toContain("apt-get install -y redis-server postgresql");
    expect(message).toContain(".ci/run");
    expect(message).toContain("TEST_REDIS_URL / TEST_DATABASE_URL");
  });

  it("looks only for the services the run starts", async () => {
    const failure = await requireServiceBinaries({ redis: false, postgres: true }, nothingInstalled).catch((error: unknown) => error);
    expect((failure as MissingServiceBinariesError).packages).toEqual(["postgresql"]);
    expect(await requireServiceBinaries({ redis: false, postgres: false }, nothingInstalled)).toEqual({
      redisServer: undefined,
      postgresBinDir: undefined,
    });
  });

  it("finds the binaries installed on this machine", async () => {
    const found = await requireServiceBinaries({ redis: true, postgres: true });
    expect(found.redisServer).toMatch(/redis-server$/);
    await expect(access(join(found.postgresBinDir as string, "initdb"))).resolves.toBeUndefined();
  });
});

describe("startRedisProcess", () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedisProcess();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("answers PING on its URL", async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await withRedis(redis.url, (client) => client.ping())).toBe("PONG");
  });

  it("answers on its unix socket URL, over the socket", async () => {
    expect(redis.socketUrl).toBe(`unix://${join(redis.dir, "redis.sock")}`);
    const info = await withRedis(redis.socketUrl, (client) => client.client("INFO"));
    expect(String(info)).toContain(`laddr=${join(redis.dir, "redis.sock")}`);
  });

  it("falls back to TCP for its socket URL when its folder's path is too long for a socket", async () => {
    const dir = join(await mkdtemp(join(tmpdir(), "tq-")), "x".repeat(100));
    const other = await startRedisProcess({ dir });
    try {
      expect(other.socketUrl).toBe(other.url);
      expect(await withRedis(other.socketUrl, (client) => client.ping())).toBe("PONG");
    } finally {
      await other.stop();
      await rm(dirname(dir), { recursive: true, force: true });
    }
  });

  it("freezes on SIGSTOP and thaws on SIGCONT", async () => {
    await redis.kill("SIGSTOP");
    expect(await pingRedis(redis.port, "127.0.0.1", 200)).toBe(false);
    await redis.kill("SIGCONT");
    expect(await pingRedis(redis.port)).toBe(true);
  });

  it("comes back empty on the same port after SIGKILL and restart()", async () => {
    await withRedis(redis.url, (client) => client.set("local-services:key", "value"));
    const { pid, port } = redis;
    await redis.kill("SIGKILL");
    expect(redis.running).toBe(false);
    expect(await isAlive(pid)).toBe(false);
    expect(await pingRedis(port, "127.0.0.1", 200)).toBe(false);

    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(pid);
    expect(await withRedis(redis.url, (client) => client.get("local-services:key"))).toBeNull();
  });

  it("removes its temp folder on stop() and refuses restart() afterwards", async () => {
    const other = await startRedisProcess();
    await other.stop();
    await expect(access(other.dir)).rejects.toThrow();
    await expect(other.restart()).rejects.toThrow(/after stop/);
  });

  it("fails with the server output when the port is taken", async () => {
    await expect(startRedisProcess({ port: redis.port })).rejects.toThrow(/Address already in use/);
  });
});

describe("startPostgresProcess", () => {
  let postgres: PostgresProcess;
  beforeAll(async () => {
    postgres = await startPostgresProcess({ fsync: false });
  });
  afterAll(async () => {
    await postgres?.stop();
  });

  it("accepts connections to the taskqueue database with the requested settings", async () => {
    expect(postgres.url).toBe(`postgres://postgres@127.0.0.1:${postgres.port}/taskqueue`);
    const rows = await withPg(postgres.url, async (client) => ({
      one: (await client.query("select 1 as one")).rows[0].one,
      database: (await client.query("select current_database() as db")).rows[0].db,
      fsync: (await client.query("show fsync")).rows[0].fsync,
      maxConnections: (await client.query("show max_connections")).rows[0].max_connections,
    }));
    expect(rows).toEqual({ one: 1, database: "taskqueue", fsync: "off", maxConnections: "200" });
  });

  it("accepts connections on its unix socket URL, not over TCP", async () => {
    const row = await withPg(postgres.socketUrl, async (client) =>
      (await client.query("select current_database() as db, inet_server_addr() as addr")).rows[0],
    );
    expect(row).toEqual({ db: "taskqueue", addr: null });
    const overTcp = await withPg(postgres.url, async (client) => (await client.query("select inet_server_addr() as addr")).rows[0]);
    expect(overTcp.addr).toBe("127.0.0.1");
  });

  it("keeps its data across SIGKILL and restart()", async () => {
    await withPg(postgres.url, async (client) => {
      await client.query("create table local_services_kept (id int primary key)");
      await client.query("insert into local_services_kept values (1), (2), (3)");
    });
    const { pid, port } = postgres;
    await postgres.kill("SIGKILL");
    expect(postgres.running).toBe(false);
    expect(await isAlive(pid)).toBe(false);

    await postgres.restart();
    expect(postgres.port).toBe(port);
    const count = await withPg(postgres.url, async (client) => {
      return (await client.query("select count(*)::int as n from local_services_kept")).rows[0].n;
    });
    expect(count).toBe(3);
  });

  it("takes every server process down on SIGKILL, even with a client connected", async () => {
    const client = new pg.Client({ connectionString: postgres.url });
    const lost = new Promise<Error>((resolve) => client.on("error", resolve));
    await client.connect();
    const backend = (await client.query("select pg_backend_pid() as pid")).rows[0].pid as number;
    const tree = await listProcessTree(postgres.pid);
    expect(tree).toContain(backend);
    expect(tree.length).toBeGreaterThan(3);

    await postgres.kill("SIGKILL");
    for (const pid of [postgres.pid, ...tree]) expect(await isAlive(pid)).toBe(false);
    expect(await lost).toBeInstanceOf(Error);
    await client.end().catch(() => undefined);
    await postgres.restart();
  });

  it("freezes every server process on SIGSTOP and thaws them on SIGCONT", async () => {
    await withPg(postgres.url, async (client) => {
      await postgres.kill("SIGSTOP");
      const query = client.query("select 42 as answer");
      const frozen = await Promise.race([
        query.then(() => "answered"),
        new Promise((resolve) => setTimeout(resolve, 300, "no answer")),
      ]);
      expect(frozen).toBe("no answer");
      await postgres.kill("SIGCONT");
      expect((await query).rows).toEqual([{ answer: 42 }]);
    });
  });
});

describe("startEmbeddedPostgres", () => {
  it("serves pg clients: queries, DDL, transactions and unnest batches", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "taskqueue-pglite-"));
    const embedded = await startEmbeddedPostgres({ dataDir });
    try {
      expect(embedded.maxConnections).toBe(1);
      const names = await withPg(embedded.url, async (client) => {
        expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
        await client.query("create table items (id bigserial primary key, name text not null)");
        await client.query("begin");
        await client.query("insert into items (name) select * from unnest($1::text[])", [["a", "b", "c"]]);
        await client.query("commit");
        await client.query("begin");
        await client.query("insert into items (name) values ('rolled back')");
        await client.query("rollback");
        return (await client.query("select name from items order by id")).rows.map((row) => row.name);
      });
      expect(names).toEqual(["a", "b", "c"]);
    } finally {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("waitFor", () => {
  it("resolves with the first truthy value", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `after ${calls}` : undefined), {
      timeoutMs: 1_000,
      intervalMs: 1,
      message: "three calls",
    });
    expect(value).toBe("after 3");
  });

  it("fails after the deadline naming what it waited for and the last error", async () => {
    const waiting = waitFor(
      async () => {
        throw new Error("not yet");
      },
      { timeoutMs: 50, message: "the impossible" },
    );
    await expect(waiting).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(waiting).rejects.toThrow(/the impossible.*not yet/);
  });
});
