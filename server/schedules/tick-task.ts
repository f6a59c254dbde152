import { clone, fromBinary } from "@bufbuild/protobuf";
import { SubmitTaskRequestSchema, type SubmitTaskRequest } from "../../gen/taskqueue/v1/task_service_pb.js";
import type { NewTask } from "../engine/task-records.js";
import { validateSubmit, type SubmitPolicy } from "../services/submit-validation.js";

/** Labels every task of a schedule carries: the schedule's id, and the tick (RFC 3339 UTC). */
export const SCHEDULE_LABEL = "schedule";
/** See {@link SCHEDULE_LABEL}. */
export const TICK_LABEL = "tick";

/** The field path a template's validation errors carry in front. */
export const TEMPLATE_FIELD = "template.";

/** The task of one tick, as SubmitTask would take it (not yet validated). */
export function tickRequest(scheduleId: string, template: SubmitTaskRequest | Uint8Array, tickMs: number, triggered: boolean): SubmitTaskRequest {
  const req = template instanceof Uint8Array ? fromBinary(SubmitTaskRequestSchema, template) : clone(SubmitTaskRequestSchema, template);
  const tick = new Date(tickMs).toISOString();
  req.labels = { ...req.labels, [SCHEDULE_LABEL]: scheduleId, [TICK_LABEL]: tick };
  // Deterministic: a second attempt at the same tick finds the first one's task.
  req.idempotencyKey = `schedule:${scheduleId}:${triggered ? "trigger:" : ""}${tick}`;
  req.runAt = undefined;
  return req;
}

/**
 * The validated task of one tick: the template with the schedule's labels and idempotency
 * key. Throws the submit validation's errors, their fields prefixed by `template.`.
 */
export function tickTask(
  scheduleId: string,
  template: SubmitTaskRequest | Uint8Array,
  tickMs: number,
  options: { triggered: boolean; policy: SubmitPolicy; nowMs: number },
): NewTask {
  return validateSubmit(tickRequest(scheduleId, template, tickMs, options.triggered), options.policy, options.nowMs, TEMPLATE_FIELD);
}
