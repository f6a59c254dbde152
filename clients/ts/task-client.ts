import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { TaskState, type Task, type TaskAttempt } from "../../gen/taskqueue/v1/task_pb.js";
import { SubmitTasksRequestSchema, TaskService, TaskView } from "../../gen/taskqueue/v1/task_service_pb.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";
import { checkTaskSpec, invalid } from "./spec-checks.js";
import { withQuotaRetry } from "./quota-retry.js";
import { submitTaskRequestOf } from "./submit-request-message.js";
import { itemOfResult } from "./submit-result-message.js";
import type { SubmitTasksItem, SubmitView, TaskSummary } from "./submit-results.js";
import type { TaskSpec } from "./task-spec.js";
import { batchService } from "./wire/batch-service.js";
import { encodeSubmitTasks } from "./wire/submit-task-encoder.js";
import { decodeBasicResults, decodeFullResults } from "./wire/submit-results-decoder.js";

export type { RequestOptions };

/** Options of {@link TaskClient.submitTasks}. */
export interface SubmitTasksOptions extends RequestOptions {
  /** How much of each task the results carry: `"full"` (default) or `"basic"`. */
  view?: SubmitView;
}

/** Options of {@link TaskClient.getTask}. */
export interface GetTaskOptions extends RequestOptions {
  /** Also return the attempt history. Default false. */
  includeAttempts?: boolean;
}

/** A task state, as the enum or its name ("QUEUED"). */
export type TaskStateFilter = TaskState | Exclude<keyof typeof TaskState, "UNSPECIFIED">;

/** Filters and paging of {@link TaskClient.listTasks}; the default lists every task, 100 a page. */
export interface ListTasksOptions extends RequestOptions {
  /** Only tasks of this queue. */
  queue?: string;
  /** Only tasks of this type. */
  type?: string;
  /** Only tasks in one of these states. */
  states?: readonly TaskStateFilter[];
  /** Page size, 1-1000. Default 100. */
  pageSize?: number;
  /** `nextPageToken` of the previous page; leave out for the first. */
  pageToken?: string;
}

/** Options of {@link TaskClient.cancelTask}. */
export interface CancelTaskOptions extends RequestOptions {
  /** Why, recorded on the task. */
  reason?: string;
}

/** The outcome of {@link TaskClient.submitTask}. */
export interface Submission {
  /** The task as committed (or the existing one). */
  task: Task;
  /** True when the idempotency key matched an existing task, returned unchanged. */
  existing: boolean;
}

/** A task and, when asked for, its attempt history. */
export interface TaskDetails {
  /** The task, with its payload and result. */
  task: Task;
  /** Attempts, oldest first; empty unless `includeAttempts` was set. */
  attempts: TaskAttempt[];
}

/** One page of tasks, newest first. */
export interface TaskPage {
  /** The tasks. */
  tasks: Task[];
  /** Token of the next page; empty on the last one. */
  nextPageToken: string;
}

/**
 * The producer API (`taskqueue.v1.TaskService`). Every call fails with a `ConnectError`
 * carrying the server's code and message (`INVALID_ARGUMENT` with a message that starts with
 * the field, `NOT_FOUND`, `FAILED_PRECONDITION`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, ...).
 */
export interface TaskClient {
  /** Submits one task; resolves once it is committed. */
  submitTask(task: TaskSpec, options?: RequestOptions): Promise<Submission>;
  /**
   * Submits up to 1000 tasks in one call and resolves with one item per task, in order. A
   * refused item carries its error (its `field` names it, e.g. `tasks[3].queue`) and the
   * others are committed; the call itself fails only when the whole request does.
   */
  submitTasks(tasks: readonly TaskSpec[], options: SubmitTasksOptions & { view: "basic" }): Promise<SubmitTasksItem<TaskSummary>[]>;
  submitTasks(tasks: readonly TaskSpec[], options?: SubmitTasksOptions & { view?: "full" }): Promise<SubmitTasksItem<Task>[]>;
  submitTasks(tasks: readonly TaskSpec[], options?: SubmitTasksOptions): Promise<SubmitTasksItem<TaskSummary>[]>;
  /** Returns one task (`NOT_FOUND` for an unknown id). */
  getTask(id: string, options?: GetTaskOptions): Promise<TaskDetails>;
  /** Returns one page of tasks, newest first. */
  listTasks(options?: ListTasksOptions): Promise<TaskPage>;
  /**
   * Cancels a task that has not finished and returns it: CANCELLED when it was queued or
   * scheduled, RUNNING (its worker told to abort) when it was running. A finished task fails
   * with `FAILED_PRECONDITION`.
   */
  cancelTask(id: string, options?: CancelTaskOptions): Promise<Task>;
  /** The generated Connect client on the same transport, for requests this API does not cover. */
  readonly service: Client<typeof TaskService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/**
 * Creates a producer client. Batches are encoded and their results decoded without
 * reflection; everything else goes through the generated protobuf-es code.
 *
 * @example
 * const client = createTaskClient({ address: "localhost:50051" });
 * const items = await client.submitTasks([{ queue: "emails", type: "send", payload: { to: "a@b.c" } }], { view: "basic" });
 */
export function createTaskClient(options: TaskClientOptions = {}): TaskClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(TaskService, compiled.transport);
  const batches = createClient(batchService, compiled.transport);
  const callOptions = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  const retried = <T>(request: RequestOptions | undefined, call: () => Promise<T>) =>
    withQuotaRetry(call, { maxWaitMs: compiled.quotaRetryMaxWaitMs, signal: request?.signal, onWait: compiled.onQuotaWait });

  async function submitTasks(tasks: readonly TaskSpec[], request: SubmitTasksOptions = {}): Promise<SubmitTasksItem<TaskSummary>[]> {
    if (!Array.isArray(tasks)) throw invalid("tasks", "must be an array");
    const view = request.view ?? "full";
    if (view !== "basic" && view !== "full") throw invalid("view", 'must be "basic" or "full"');
    for (let i = 0; i < tasks.length; i++) checkTaskSpec(tasks[i], i);
    const wireView = view === "basic" ? TaskView.BASIC : TaskView.FULL;
    if (compiled.jsonTransport) {
      const message = create(SubmitTasksRequestSchema, { tasks: tasks.map(submitTaskRequestOf), view: wireView });
      const response = await retried(request, () => service.submitTasks(message, callOptions(request)));
      return response.results.map((result) => itemOfResult(result, view));
    }
    const message = { $typeName: "taskqueue.v1.SubmitTasksRequest" as const, tasks: encodeSubmitTasks(tasks), view: wireView };
    const response = await retried(request, () => batches.submitTasks(message, callOptions(request)));
    return view === "basic" ? decodeBasicResults(response.results) : decodeFullResults(response.results);
  }

  return {
    service,
    async submitTask(task, request) {
      checkTaskSpec(task);
      const message = submitTaskRequestOf(task);
      const response = await retried(request, () => service.submitTask(message, callOptions(request)));
      return { task: requireTask(response.task), existing: response.existing };
    },
    submitTasks: submitTasks as TaskClient["submitTasks"],
    async getTask(id, request) {
      const response = await service.getTask({ id, includeAttempts: request?.includeAttempts ?? false }, callOptions(request));
      return { task: requireTask(response.task), attempts: response.attempts };
    },
    async listTasks(request = {}) {
      const response = await service.listTasks(
        {
          queue: request.queue ?? "",
          type: request.type ?? "",
          states: (request.states ?? []).map(stateOf),
          pageSize: request.pageSize ?? 0,
          pageToken: request.pageToken ?? "",
        },
        callOptions(request),
      );
      return { tasks: response.tasks, nextPageToken: response.nextPageToken };
    },
    async cancelTask(id, request) {
      const response = await service.cancelTask({ id, reason: request?.reason ?? "" }, callOptions(request));
      return requireTask(response.task);
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
}

function stateOf(state: TaskStateFilter): TaskState {
  if (typeof state === "number") return state;
  const value = (TaskState as unknown as Record<string, unknown>)[state];
  if (typeof value !== "number" || value === TaskState.UNSPECIFIED) throw invalid("states", `"${String(state)}" is not a task state`);
  return value;
}

/** The task of a response; a server always sends one. */
function requireTask(task: Task | undefined): Task {
  return requireField(task, "task");
}

/** A message field a server always sets; a missing one is a protocol error. */
export function requireField<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new ConnectError(`protocol error: the answer holds no ${field}`, Code.Internal);
  return value;
}
