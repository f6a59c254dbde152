import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { openRedis, parseClusterNodes } from "./connection.js";

describe("parseClusterNodes", () => {
  it("reads host:port seeds, and redis:// or rediss:// URLs with credentials", () => {
    expect(parseClusterNodes("10.0.0.1:7000, 10.0.0.2:7001")).toEqual({ nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }], tls: false });
    expect(parseClusterNodes("rediss://app:s%40cret@redis-0.redis:6379,rediss://redis-1.redis:6379")).toEqual({
      nodes: [{ host: "redis-0.redis", port: 6379 }, { host: "redis-1.redis", port: 6379 }],
      tls: true,
      username: "app",
      password: "s@cret",
    });
    expect(parseClusterNodes("[::1]:7000").nodes).toEqual([{ host: "::1", port: 7000 }]);
  });

  it("refuses what is not a seed, naming the setting", () => {
    for (const bad of ["", "redis-0", "redis-0:0", "redis-0:70000", "http://x:1", "redis://a:1,rediss://b:2"]) {
      expect(() => parseClusterNodes(bad)).toThrow(InvalidArgumentError);
      expect(() => parseClusterNodes(bad)).toThrow(/REDIS_CLUSTER_NODES/);
    }
  });
});

describe("openRedis", () => {
  it("puts REDIS_USERNAME and REDIS_PASSWORD in place of the URL's", () => {
    const redis = openRedis({ url: "redis://old:pw@127.0.0.1:1/2", clusterNodes: "", username: "app", password: "new", tls: undefined }, { lazyConnect: true });
    try {
      expect(redis.options).toMatchObject({ username: "app", password: "new", db: 2 });
    } finally {
      redis.disconnect();
    }
  });
});

describe("REDIS_CLUSTER_NODES in the server's settings", () => {
  it("is checked at start-up, and its rediss:// seeds allow the REDIS_TLS_* files", async () => {
    const { compileServerOptions } = await import("../config.js");
    expect(() => compileServerOptions({ redisClusterNodes: "redis-0" })).toThrow(/REDIS_CLUSTER_NODES: "redis-0" is not host:port/);
    expect(compileServerOptions({ redisClusterNodes: "rediss://redis-0:6379", redisTlsCaFile: "/etc/ca.pem" }).redisTlsCaFile).toBe("/etc/ca.pem");
    expect(() => compileServerOptions({ redisClusterNodes: "redis-0:6379", redisTlsCaFile: "/etc/ca.pem" })).toThrow(/need rediss:\/\/ REDIS_CLUSTER_NODES/);
  });
});
