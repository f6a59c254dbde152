import type { SubmitTasksResult } from "../../gen/taskqueue/v1/task_service_pb.js";
import { missingOutcomeError, SubmitItemError } from "./errors.js";
import type { SubmitTasksItem, SubmitView, TaskSummary } from "./submit-results.js";

/**
 * The item of a batch result decoded by protobuf-es (batches over a JSON transport): the
 * same item the hand-written decoder makes, the task reduced to a summary in the basic view.
 */
export function itemOfResult(result: SubmitTasksResult, view: SubmitView): SubmitTasksItem<TaskSummary> {
  const outcome = result.outcome;
  if (outcome.case === "task") {
    const task = outcome.value;
    const summary: TaskSummary =
      view === "basic" ? { id: task.id, queue: task.queue, type: task.type, state: task.state, createdAt: task.createdAt } : task;
    return { task: summary, existing: result.existing, error: undefined };
  }
  const error = outcome.case === "error" ? new SubmitItemError(outcome.value.code, outcome.value.message, outcome.value.field) : missingOutcomeError();
  return { task: undefined, existing: false, error };
}
