import type { RoleName } from "./roles.js";

/** Queues a request acts on: names, or `"all"` when it spans every queue (a list without filter). */
export type QueueNames = readonly string[] | "all";

/** What a policy may look up to find the queues of a request that names tasks by id. */
export interface PolicyLookups {
  /** The queues of the tasks with these ids (unknown ids are left out). */
  queuesOfTasks(ids: readonly string[]): Promise<readonly string[]>;
}

/** Who may call one RPC, and which queues a call acts on. */
export interface MethodPolicy {
  /** The roles allowed, or `"open"`: anyone, even without a token (health, reflection). */
  readonly roles: readonly RoleName[] | "open";
  /** The queues a unary request acts on; absent when the RPC acts on no queue. */
  readonly queues?: (request: never, lookups: PolicyLookups) => QueueNames | Promise<QueueNames>;
  /** For streaming requests: the queues each request message acts on (checked as they arrive). */
  readonly streamQueues?: (request: never) => readonly string[];
  /** Record each call in the audit log (admin and operator actions). */
  readonly audit?: true;
  /** How many tasks a request submits: the call takes them from the token's submit quota. */
  readonly submits?: (request: never) => number;
  /** A worker stream: counted against the token's `max_worker_streams` quota while open. */
  readonly workerStream?: true;
}

/** Policies by full method name, `/package.Service/Method` (the gRPC path). */
export type PolicyTable = Readonly<Record<string, MethodPolicy>>;

const ADMIN: readonly RoleName[] = ["admin"];
const OPERATORS: readonly RoleName[] = ["admin", "operator"];
const READERS: readonly RoleName[] = ["admin", "operator", "viewer"];
const PRODUCERS: readonly RoleName[] = ["admin", "producer"];
const TASK_READERS: readonly RoleName[] = ["admin", "operator", "producer", "viewer"];
const TASK_CANCELLERS: readonly RoleName[] = ["admin", "operator", "producer"];
const WORKERS: readonly RoleName[] = ["admin", "worker"];

/** A filter field: its queue, or every queue when it is empty. */
const queueOrAll = (queue: string): QueueNames => (queue === "" ? "all" : [queue]);

/** Dead-letter selections: a queue, or ids whose queues are looked up. */
const deadSelection = (r: { ids: string[]; queue: string }, lookups: PolicyLookups): QueueNames | Promise<QueueNames> =>
  r.ids.length > 0 ? lookups.queuesOfTasks(r.ids).then((q) => (r.queue === "" ? q : [...q, r.queue])) : queueOrAll(r.queue);

/** A schedule's task queue (CreateSchedule, UpdateSchedule). */
const scheduleQueue = (r: { schedule?: { task?: { queue: string } } }): QueueNames => [r.schedule?.task?.queue ?? ""];

/**
 * The authorization policy of every RPC the server serves: one line per RPC. A registered
 * service's RPC missing here is refused to everyone but admins, and the policy test (generated
 * from the service descriptors) fails. Roles: admin everything; operator queue control and
 * dead letters, task cancel and every read; producer submit, get, list and cancel tasks;
 * worker `WorkerService.Connect`; viewer every read.
 */
export const methodPolicies: PolicyTable = {
  "/taskqueue.v1.TaskService/SubmitTask": { roles: PRODUCERS, queues: (r: { queue: string }) => [r.queue], submits: () => 1 },
  "/taskqueue.v1.TaskService/SubmitTasks": { roles: PRODUCERS, queues: (r: { tasks: { queue: string }[] }) => r.tasks.map((t) => t.queue), submits: (r: { tasks: unknown[] }) => r.tasks.length },
  "/taskqueue.v1.TaskService/GetTask": { roles: TASK_READERS, queues: (r: { id: string }, l: PolicyLookups) => l.queuesOfTasks([r.id]) },
  "/taskqueue.v1.TaskService/ListTasks": { roles: TASK_READERS, queues: (r: { queue: string }) => queueOrAll(r.queue) },
  "/taskqueue.v1.TaskService/CancelTask": { roles: TASK_CANCELLERS, queues: (r: { id: string }, l: PolicyLookups) => l.queuesOfTasks([r.id]) },

  "/taskqueue.v1.WorkerService/Connect": {
    roles: WORKERS,
    workerStream: true,
    streamQueues: (r: { message: { case: string | undefined; value?: unknown } }) =>
      r.message.case === "hello" ? (r.message.value as { queues: string[] }).queues : [],
  },

  "/taskqueue.v1.DeadLetterService/ListDeadTasks": { roles: READERS, queues: (r: { queue: string }) => queueOrAll(r.queue) },
  "/taskqueue.v1.DeadLetterService/RedriveDeadTasks": { roles: OPERATORS, queues: deadSelection, audit: true },
  "/taskqueue.v1.DeadLetterService/PurgeDeadTasks": { roles: OPERATORS, queues: deadSelection, audit: true },

  // Open to scoped readers: the handler lists only the queues the caller's scope allows.
  "/taskqueue.v1.QueueService/ListQueues": { roles: READERS },
  "/taskqueue.v1.QueueService/GetQueue": { roles: READERS, queues: (r: { name: string }) => [r.name] },
  "/taskqueue.v1.QueueService/PauseQueue": { roles: OPERATORS, queues: (r: { name: string }) => [r.name], audit: true },
  "/taskqueue.v1.QueueService/ResumeQueue": { roles: OPERATORS, queues: (r: { name: string }) => [r.name], audit: true },
  "/taskqueue.v1.QueueService/UpdateQueue": { roles: OPERATORS, queues: (r: { name: string }) => [r.name], audit: true },

  "/taskqueue.v1.ClusterService/ListWorkers": { roles: READERS, queues: (r: { queue: string }) => queueOrAll(r.queue) },
  "/taskqueue.v1.ClusterService/ListServers": { roles: READERS },
  "/taskqueue.v1.ClusterService/GetSystemHealth": { roles: READERS },

  // Schedules (ScheduleService): operators write, readers read. A schedule named by id would need
  // a lookup of its queue: those calls span every queue (tokens scoped to some queues are refused).
  "/taskqueue.v1.ScheduleService/CreateSchedule": { roles: OPERATORS, queues: scheduleQueue, audit: true },
  "/taskqueue.v1.ScheduleService/UpdateSchedule": { roles: OPERATORS, queues: scheduleQueue, audit: true },
  "/taskqueue.v1.ScheduleService/DeleteSchedule": { roles: OPERATORS, queues: () => "all", audit: true },
  "/taskqueue.v1.ScheduleService/PauseSchedule": { roles: OPERATORS, queues: () => "all", audit: true },
  "/taskqueue.v1.ScheduleService/ResumeSchedule": { roles: OPERATORS, queues: () => "all", audit: true },
  "/taskqueue.v1.ScheduleService/TriggerSchedule": { roles: OPERATORS, queues: () => "all", audit: true },
  "/taskqueue.v1.ScheduleService/GetSchedule": { roles: READERS, queues: () => "all" },
  "/taskqueue.v1.ScheduleService/ListSchedules": { roles: READERS, queues: () => "all" },

  "/taskqueue.v1.AuthService/CreateToken": { roles: ADMIN, audit: true },
  "/taskqueue.v1.AuthService/ListTokens": { roles: ADMIN },
  "/taskqueue.v1.AuthService/RevokeToken": { roles: ADMIN, audit: true },
  "/taskqueue.v1.AuthService/ListAuditEvents": { roles: ADMIN },

  "/grpc.health.v1.Health/Check": { roles: "open" },
  "/grpc.health.v1.Health/Watch": { roles: "open" },
  // The API's schema is public (it is the proto files): grpcurl lists and describes without a token.
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": { roles: "open" },
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": { roles: "open" },
};
