import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { keySlot } from "../../server/redis/key-slot.js";
import { findFreePort, LOOPBACK_HOST } from "./free-port.js";
import { findRedisServer } from "./redis-binary.js";
import { startRedisProcess, type RedisProcess } from "./redis-process.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** Options for {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** Masters. Default 3. */
  masters?: number;
  /** Replicas of each master. Default 1. */
  replicas?: number;
  /** `cluster-node-timeout`, ms: how long a silent master takes to be failed over. Default 1000. */
  nodeTimeoutMs?: number;
  /** Deadline for the cluster to be formed and `cluster_state:ok` on every node. Default 30 s. */
  startTimeoutMs?: number;
  /** `requirepass` (and `masterauth`) of every node, set once the cluster is formed; default none. */
  password?: string;
  /**
   * TLS for clients and the cluster bus (`tls-cluster yes`): PEM files of each node's
   * certificate and key and of the CA clients must present certificates of. Clients then
   * reach the nodes on their TLS ports (announced by the cluster); the plain ports stay open
   * for the test's own commands.
   */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNodeView {
  id: string;
  address: string;
  role: "master" | "replica";
  /** For a replica, its master's id. */
  masterId: string | null;
  /** Slot ranges served (masters). */
  slots: Array<[number, number]>;
  failed: boolean;
}

/**
 * A private Redis Cluster of real `redis-server --cluster-enabled yes` processes on free ports
 * (and free cluster-bus ports), without persistence, created with
 * `redis-cli --cluster create … --cluster-replicas N --cluster-yes` (the tests' clusters and
 * the bench's `cluster` scenario).
 */
export class LocalRedisCluster {
  constructor(
    readonly nodes: RedisProcess[],
    readonly password?: string,
    /** Each node's TLS port, by its plain port (with `tls`). */
    readonly tlsPorts = new Map<number, number>(),
  ) {}

  /** `REDIS_CLUSTER_NODES` for a server: every node's `127.0.0.1:port` (`rediss://…:tls-port` with TLS). */
  get seeds(): string {
    return this.nodes
      .map((n) => (this.tlsPorts.has(n.port) ? `rediss://${LOOPBACK_HOST}:${this.tlsPorts.get(n.port)}` : `${LOOPBACK_HOST}:${n.port}`))
      .join(",");
  }

  /** The nodes still running. */
  get running(): RedisProcess[] {
    return this.nodes.filter((n) => n.running);
  }

  /** `CLUSTER NODES` as seen by the first running node that answers (a paused one does not). */
  async view(): Promise<ClusterNodeView[]> {
    let lastError: unknown;
    for (const node of this.running) {
      try {
        return parseClusterNodes(String(await this.call(node, "CLUSTER", "NODES")));
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError ?? new Error("no node runs");
  }

  /** The process of the master currently serving `key`'s slot. */
  async masterOf(key: string): Promise<RedisProcess> {
    const slot = keySlot(key);
    const master = (await this.view()).find((n) => n.role === "master" && !n.failed && n.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!master) throw new Error(`no master serves slot ${slot}`);
    return this.byAddress(master.address);
  }

  /** A replica of `master` (by `CLUSTER NODES`). */
  async replicaOf(master: RedisProcess): Promise<RedisProcess> {
    const view = await this.view();
    const id = view.find((n) => this.byAddress(n.address) === master)?.id;
    const replica = view.find((n) => n.role === "replica" && n.masterId === id && !n.failed);
    if (!replica) throw new Error(`no replica of ${master.port}`);
    return this.byAddress(replica.address);
  }

  /**
   * `perMaster` queue names for each master (3 by default), whose keys under `prefix` hash to
   * slots of that master.
   */
  async queuesOnEveryMaster(prefix: string, label: string, perMaster = 1, masters = 3): Promise<string[]> {
    const byMaster = new Map<number, string[]>();
    const full = () => [...byMaster.values()].filter((q) => q.length >= perMaster).length;
    for (let i = 0; i < 500 && full() < masters; i++) {
      const queue = `${label}-${randomBytes(4).toString("hex")}`;
      const master = await this.masterOf(`{${prefix}${queue}}:types`);
      const list = byMaster.get(master.port) ?? [];
      if (list.length < perMaster) list.push(queue);
      byMaster.set(master.port, list);
    }
    if (full() < masters) throw new Error(`found no queue names for ${masters} masters`);
    return [...byMaster.values()].flat();
  }

  /** The process of `address` (`host:port`, the plain or the TLS port). */
  byAddress(address: string): RedisProcess {
    const node = this.nodes.find((n) => address === `${LOOPBACK_HOST}:${n.port}` || address === `${LOOPBACK_HOST}:${this.tlsPorts.get(n.port)}`);
    if (!node) throw new Error(`no node at ${address}`);
    return node;
  }

  /** Runs one command on one node (a connection of its own); fails after 1 s without an answer. */
  async call(node: RedisProcess, ...command: [string, ...Array<string | number>]): Promise<unknown> {
    const connection = new Redis({
      host: LOOPBACK_HOST,
      port: node.port,
      password: this.password,
      lazyConnect: true,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    try {
      await connection.connect();
      return await connection.call(...command);
    } finally {
      connection.disconnect();
    }
  }

  /**
   * Waits until every running node says `cluster_state:ok`, every slot is served by a master
   * that no running node sees as failed, and `expectMasters` masters serve slots.
   */
  async waitHealthy(options: { timeoutMs: number; expectMasters?: number; message?: string }): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.running) {
          const info = String(await this.call(node, "CLUSTER", "INFO"));
          if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) return false;
        }
        const masters = (await this.view()).filter((n) => n.role === "master" && n.slots.length > 0 && !n.failed);
        return options.expectMasters === undefined || masters.length === options.expectMasters;
      },
      { timeoutMs: options.timeoutMs, intervalMs: 50, message: options.message ?? "the Redis Cluster to be healthy" },
    );
  }

  /**
   * Waits until every running replica's link to its master is up and every master serving
   * slots has a replica, so that a failover has someone to promote.
   */
  async waitReplicasLinked(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        for (const node of this.running) {
          const info = String(await this.call(node, "INFO", "replication"));
          if (/role:slave/.test(info) && !/master_link_status:up/.test(info)) return false;
        }
        const view = await this.view();
        return view.filter((n) => n.role === "master" && n.slots.length > 0).every((m) => view.some((r) => r.masterId === m.id && !r.failed));
      },
      { timeoutMs, intervalMs: 50, message: "every master to have a linked replica" },
    );
  }

  /** Stops every node. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
  }
}

/** Starts and creates a private Redis Cluster; resolves once it is healthy. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<LocalRedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicas ?? 1;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const nodes: RedisProcess[] = [];
  const tlsPorts = new Map<number, number>();
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      const busPort = await findFreePort();
      const tlsPort = options.tls ? await findFreePort() : 0;
      const tls = options.tls
        ? ["--tls-port", String(tlsPort), "--tls-cert-file", options.tls.certFile, "--tls-key-file", options.tls.keyFile, "--tls-ca-cert-file", options.tls.caFile]
        : [];
      nodes.push(
        await startRedisProcess({
          args: [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", String(busPort),
            "--cluster-node-timeout", String(options.nodeTimeoutMs ?? 1_000),
            // Any replica may take over, however long its link was down (tests pause them).
            "--cluster-replica-validity-factor", "0",
            // The queues of the other masters keep working while one master is failed over.
            "--cluster-require-full-coverage", "no",
            ...tls,
            ...(options.tls ? ["--tls-cluster", "yes", "--tls-replication", "yes"] : []),
          ],
        }),
      );
      if (options.tls) tlsPorts.set(nodes[nodes.length - 1]!.port, tlsPort);
    }
    const binary = await findRedisServer();
    const cli = join(dirname(binary ?? "/usr/bin/redis-server"), "redis-cli");
    const addresses = nodes.map((n) => `${LOOPBACK_HOST}:${n.port}`);
    await run(cli, ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"], { timeout: timeoutMs });
    // The password is set once the cluster is formed (the start-up's readiness PING has none);
    // a restarted node comes back without it.
    for (const node of options.password === undefined ? [] : nodes) {
      await new LocalRedisCluster([node]).call(node, "CONFIG", "SET", "masterauth", options.password!, "requirepass", options.password!);
    }
    const cluster = new LocalRedisCluster(nodes, options.password, tlsPorts);
    await cluster.waitHealthy({ timeoutMs, expectMasters: masters, message: "the new Redis Cluster to be formed" });
    if (replicas > 0) await cluster.waitReplicasLinked(timeoutMs);
    return cluster;
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    throw error;
  }
}

/** Parses `CLUSTER NODES`. */
export function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id, address, flags, master, , , , , ...slots] = line.trim().split(" ");
      const flagList = flags!.split(",");
      return {
        id: id!,
        address: address!.split("@")[0]!,
        role: flagList.includes("master") ? ("master" as const) : ("replica" as const),
        masterId: master === "-" ? null : master!,
        failed: flagList.includes("fail") || flagList.includes("fail?"),
        slots: slots
          .filter((s) => !s.startsWith("["))
          .map((s) => {
            const [a, b] = s.split("-");
            return [Number(a), Number(b ?? a)] as [number, number];
          }),
      };
    });
}
