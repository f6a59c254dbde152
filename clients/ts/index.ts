/**
 * The TypeScript producer client of taskqueue: `createTaskClient` and the types of its
 * options and answers. Tasks and attempts are the generated protobuf-es messages.
 */
export { TaskState, type Task, type TaskAttempt } from "../../gen/taskqueue/v1/task_pb.js";
export type { TaskClientOptions } from "./client-options.js";
export { SubmitItemError, TaskClientOptionsError } from "./errors.js";
export type { AcceptedItem, RefusedItem, SubmitTasksItem, SubmitView, TaskSummary } from "./submit-results.js";
export {
  createTaskClient,
  type CancelTaskOptions,
  type GetTaskOptions,
  type ListTasksOptions,
  type RequestOptions,
  type Submission,
  type SubmitTasksOptions,
  type TaskClient,
  type TaskDetails,
  type TaskPage,
  type TaskStateFilter,
} from "./task-client.js";
export type { RetryPolicySpec, TaskSpec } from "./task-spec.js";
export { traceContextInterceptor } from "./trace-context-interceptor.js";
export { createQueueClient, type ListQueuesOptions, type QueueClient, type QueuePage, type QueueSettingsSpec } from "./queue-client.js";
export { createClusterClient, type ClusterClient } from "./cluster-client.js";
export { createAuthClient, ROLES, type AuthClient, type NewTokenSpec, type RoleName } from "./auth-client.js";
export { quotaRetryDelayMs, RETRY_PUSHBACK_KEY, withQuotaRetry, type QuotaRetryOptions } from "./quota-retry.js";
export { Role, type TokenInfo } from "../../gen/taskqueue/v1/auth_service_pb.js";
export {
  createDeadLetterClient,
  type DeadLetterClient,
  type DeadTaskSelection,
  type ListDeadTasksOptions,
  type Redrive,
} from "./dead-letter-client.js";
export {
  createScheduleClient,
  type ListSchedulesOptions,
  type ScheduleClient,
  type ScheduleDetails,
  type SchedulePage,
  type Trigger,
} from "./schedule-client.js";
export type { CatchupPolicyName, OverlapPolicyName, ScheduleChanges, ScheduleSpec, TimeSpec } from "./schedule-spec.js";
export { createClients, type Clients } from "./clients.js";
export {
  CatchupPolicy,
  FiringOutcome,
  OverlapPolicy,
  type Schedule,
  type ScheduleFiring,
} from "../../gen/taskqueue/v1/schedule_service_pb.js";
export type { QueueInfo, QueueSettings } from "../../gen/taskqueue/v1/queue_service_pb.js";
export {
  DependencyStatus,
  SystemStatus,
  type GetSystemHealthResponse,
  type ServerInfo,
  type WorkerSession,
} from "../../gen/taskqueue/v1/cluster_service_pb.js";
