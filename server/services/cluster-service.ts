import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  ClusterService,
  DependencyHealthSchema,
  DependencyStatus,
  ServerInfoSchema,
  SystemStatus,
  WorkerSessionSchema,
  type DependencyHealth,
  type ServerInfo,
  type WorkerSession,
} from "../../gen/taskqueue/v1/cluster_service_pb.js";
import type { DependencyCheck, DependencyChecks } from "../engine/dependency-checks.js";
import type { Logger } from "../observability/logger.js";
import type { PublishedSession, ServerNode } from "../redis/cluster-directory.js";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import { timestampFromEpochMs } from "./proto-time.js";
import { ListWorkersReply, sdkParts, WorkerSessionBytes, type ListedSession } from "./list-workers-reply.js";
import { checkQueueName } from "./submit-validation.js";

/** Dependencies of the ClusterService implementation. */
export interface ClusterServiceDeps {
  /** Reads every live server with its sessions (the cluster directory in Redis). */
  readCluster: () => Promise<ServerNode[]>;
  /** Checks Postgres and Redis now. */
  checks: DependencyChecks;
  /** Id of this server. */
  serverId: string;
  /** True once this server is shutting down. */
  isDraining: () => boolean;
  logger: Logger;
}

/** Lists worker sessions and servers across the cluster, and checks the system's health. */
export function createClusterService(deps: ClusterServiceDeps): ServiceImpl<typeof ClusterService> {
  const encodedSessions = new WorkerSessionBytes();
  return {
    async listWorkers(req) {
      if (req.queue !== "") checkQueueName(req.queue);
      const listed: ListedSession[] = [];
      for (const node of await deps.readCluster()) {
        for (const session of node.sessions) {
          if (req.queue !== "" && !session.queues.includes(req.queue)) continue;
          listed.push({ serverId: node.server.serverId, session });
        }
      }
      return new ListWorkersReply(listed, encodedSessions, (l) => workerSessionOf(l.serverId, l.session));
    },

    async listServers() {
      return { servers: (await deps.readCluster()).map(serverInfoOf) };
    },

    async getSystemHealth() {
      const report = await deps.checks.check();
      // Servers are listed from Redis: not when it just failed its check (the call would wait
      // out the client's reconnection attempts).
      const nodes =
        report.checks.redis?.state === "ok"
          ? await deps.readCluster().catch((error: unknown) => {
              deps.logger.debug({ err: error }, "system health: cannot list servers");
              return [] as ServerNode[];
            })
          : [];
      const status = deps.isDraining()
        ? SystemStatus.DRAINING
        : report.ok
          ? SystemStatus.SERVING
          : SystemStatus.NOT_SERVING;
      return {
        status,
        postgres: dependencyHealthOf(report.checks.postgres),
        redis: dependencyHealthOf(report.checks.redis),
        servers: nodes.map(serverInfoOf),
        serverId: deps.serverId,
        checkedAt: timestampFromEpochMs(report.checkedAt),
      };
    },
  };
}

/** One published session as the API shows it. */
export function workerSessionOf(serverId: string, s: PublishedSession): WorkerSession {
  const sdk = sdkParts(s.sdk);
  return create(WorkerSessionSchema, {
    workerId: s.workerId,
    sessionId: s.sessionId,
    serverId,
    queues: s.queues,
    taskTypes: s.taskTypes,
    capacity: s.capacity,
    inFlight: s.inFlight,
    inFlightTaskIds: s.held,
    labels: s.labels,
    sdkName: sdk.name,
    sdkVersion: sdk.version,
    connectedAt: timestampFromEpochMs(s.connectedAt),
    lastHeartbeatAt: s.lastHeartbeatAt > 0 ? timestampFromEpochMs(s.lastHeartbeatAt) : undefined,
    draining: s.draining,
  });
}

/** One live server as the API shows it. */
export function serverInfoOf(node: ServerNode): ServerInfo {
  const s = node.server;
  return create(ServerInfoSchema, {
    serverId: s.serverId,
    address: s.address,
    httpAddress: s.httpAddress,
    version: s.version,
    startedAt: timestampFromEpochMs(s.startedAt),
    draining: s.draining,
    connectedWorkers: node.sessions.length,
  });
}

const statusByState = {
  ok: DependencyStatus.OK,
  unavailable: DependencyStatus.UNAVAILABLE,
  timeout: DependencyStatus.TIMEOUT,
} as const;

function dependencyHealthOf(check: DependencyCheck | undefined): DependencyHealth {
  if (check === undefined) return create(DependencyHealthSchema, { status: DependencyStatus.UNSPECIFIED });
  return create(DependencyHealthSchema, {
    status: statusByState[check.state],
    latency: check.latencyMs === undefined ? undefined : latencyOf(check.latencyMs),
  });
}

/** A Duration from milliseconds with a fraction (kept to the nanosecond). */
function latencyOf(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1_000_000));
  return create(DurationSchema, { seconds: BigInt(seconds), nanos });
}
