import { describe, expect, it } from "vitest";
import { BenchOptionsError } from "./errors.js";
import { compileBenchOptions, parseBenchArgs } from "./options.js";

function parsed(argv: string[]) {
  const result = parseBenchArgs(argv);
  if (result.help) throw new Error("expected options, got help");
  return compileBenchOptions(result.options);
}

describe("bench options", () => {
  it("reads the switches, which take no value, and leaves them off by default", () => {
    expect(parsed(["--unix-sockets", "--redis-aof", "--quick"])).toMatchObject({ unixSockets: true, redisAof: true, quick: true });
    expect(parsed(["--repeat", "2"])).toMatchObject({ unixSockets: false, redisAof: false, quick: false, repeat: 2 });
  });

  it("passes repeated --server-node-arg flags through in order", () => {
    const options = parsed(["--server-node-arg=--max-semi-space-size=16", "--server-node-arg", "--trace-gc"]);
    expect(options.serverNodeArgs).toEqual(["--max-semi-space-size=16", "--trace-gc"]);
    expect(parsed([]).serverNodeArgs).toEqual([]);
  });

  it("rejects a --server-node-arg that is not a flag, naming the option", () => {
    expect(() => parseBenchArgs(["--server-node-arg", "trace-gc"])).toThrow(BenchOptionsError);
    expect(() => parseBenchArgs(["--server-node-arg", "trace-gc"])).toThrow(/--server-node-arg/);
  });

  it("collects --server-env pairs and rejects one without a name", () => {
    expect(parsed(["--server-env", "A=1", "--server-env=B=x=y"]).serverEnv).toEqual({ A: "1", B: "x=y" });
    expect(() => parseBenchArgs(["--server-env", "=1"])).toThrow(/--server-env/);
  });

  it("runs the cluster scenario in quick mode, without replicas unless --cluster-replicas asks, which takes 0 to 2", () => {
    expect(parsed(["--quick"]).scenarios).toContain("cluster");
    expect(parsed([]).clusterReplicas).toBe(0);
    expect(parsed(["--cluster-replicas", "1"]).clusterReplicas).toBe(1);
    expect(() => parsed(["--cluster-replicas", "3"])).toThrow(/--cluster-replicas/);
    expect(() => parsed(["--cluster-replicas", "0.5"])).toThrow(/--cluster-replicas/);
  });

  it("warms the latency scenario up for 10 s by default (0.5 s in quick mode), or as asked", () => {
    expect(parsed([]).warmupS).toBe(10);
    expect(parsed(["--quick"]).warmupS).toBe(0.5);
    expect(parsed(["--warmup-s", "3"]).warmupS).toBe(3);
  });

  it("runs the durable peers, their defaults and their latency workload by default and in quick mode", () => {
    const peers = ["graphile_worker", "graphile_worker_defaults", "river", "river_defaults", "latency_graphile_worker", "latency_river"];
    expect(parsed([]).scenarios).toEqual(expect.arrayContaining(peers));
    expect(parsed(["--quick"]).scenarios).toEqual(expect.arrayContaining(peers));
    expect(parsed(["--scenarios", "river,throughput_batch"]).scenarios).toEqual(["throughput_batch", "river"]);
  });

  it("reads --pin-postgres, off by default", () => {
    expect(parsed(["--pin-postgres"]).pinPostgres).toBe(true);
    expect(parsed([]).pinPostgres).toBe(false);
  });

  it("reads --work-ms as a range or one value and --payload-bytes, refusing a payload on the raw unary caller", () => {
    expect(parsed(["--work-ms", "1-10"]).workMs).toEqual([1, 10]);
    expect(parsed(["--work-ms=5"]).workMs).toEqual([5, 5]);
    expect(parsed([]).workMs).toEqual([0, 0]);
    expect(() => parseBenchArgs(["--work-ms", "10-1"])).toThrow(/--work-ms/);
    expect(() => parseBenchArgs(["--work-ms", "fast"])).toThrow(/--work-ms/);
    expect(parsed(["--payload-bytes", "1024", "--rate-batch", "50"]).payloadBytes).toBe(1024);
    expect(() => parsed(["--payload-bytes", "1024"])).toThrow(/--unary-client ts/);
    expect(parsed(["--payload-bytes", "1024", "--unary-client", "ts"]).payloadBytes).toBe(1024);
  });
});
