import type { Task } from "../../gen/taskqueue/v1/task_pb.js";
import type { SubmitItemError } from "./errors.js";

/**
 * How much of each task `submitTasks` answers with: `"full"` (the default) the whole task
 * without its payload, `"basic"` only its id, queue, type, state and creation time, which
 * keeps the answers of large batches small and cheap to decode.
 */
export type SubmitView = "basic" | "full";

/**
 * The identity and state of a submitted task: what the `"basic"` view answers. A full
 * {@link Task} has these fields too, so code written for summaries takes either.
 */
export type TaskSummary = Pick<Task, "id" | "queue" | "type" | "state" | "createdAt">;

/** An accepted item of a batch: the task as committed (or the existing one). */
export interface AcceptedItem<T extends TaskSummary> {
  /** The task. */
  task: T;
  /** True when the idempotency key matched an existing task, returned unchanged. */
  existing: boolean;
  /** Not set: the item was accepted. */
  error: undefined;
}

/** A refused item of a batch: nothing was written for it. */
export interface RefusedItem {
  /** Not set: the item was refused. */
  task: undefined;
  /** Always false. */
  existing: false;
  /** Why, naming the field. */
  error: SubmitItemError;
}

/** The outcome of one item of a batch, in the order of the submitted tasks: test `error` first. */
export type SubmitTasksItem<T extends TaskSummary = Task> = AcceptedItem<T> | RefusedItem;
