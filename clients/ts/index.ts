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
