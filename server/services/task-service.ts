import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { TaskService, TaskView, type SubmitTaskRequest } from "../../gen/taskqueue/v1/task_service_pb.js";
import type { TaskRow, TaskStateName } from "../db/schema.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { Canceller } from "../engine/canceller.js";
import { preciseNowMs } from "../engine/precise-time.js";
import type { Submitter } from "../engine/submitter.js";
import type { NewTask, TraceContext } from "../engine/task-records.js";
import { InvalidArgumentError, NotFoundError, TaskQueueError } from "../errors.js";
import { rpcLogFields } from "../observability/rpc-trace.js";
import type { TaskLifecycleLog } from "../observability/task-lifecycle-log.js";
import { checkStorableText, checkTypeName, type SubmitPolicy, validateSubmit } from "./submit-validation.js";
import { checkTaskId, decodePageToken, encodePageToken, pageSizeOf } from "./page-token.js";
import { SubmitTaskReply, SubmitTasksReply } from "./submit-replies.js";
import { attemptOfRow, stateNameOf, taskOfRow } from "./task-mapper.js";

/** Dependencies of the TaskService implementation. */
export interface TaskServiceDeps {
  submitter: Submitter;
  repository: TaskRepository;
  canceller: Canceller;
  /** Told the queue of a task this server cancelled (views of the queue re-read it). */
  onCancelled?: (queue: string) => void;
  policy: SubmitPolicy;
  /** Clock in epoch ms (default: the wall clock to the microsecond). */
  nowMs?: () => number;
  /** How a submit call is traced; absent when tracing is off (nothing is read or stored). */
  tracing?: SubmitTracing;
  /** Debug lines per submitted or cancelled task; absent unless the logger writes debug lines. */
  lifecycle?: TaskLifecycleLog;
}

/** How a submit call is traced, read once per call (not per task). */
export interface SubmitTracing {
  /** The trace context to store with the call's tasks (its RPC span's), if any. */
  carried(call: HandlerContext): TraceContext | undefined;
  /** Records the call's steps ("committed", "enqueued") on its RPC span, if it is sampled. */
  steps(call: HandlerContext): ((step: string, tasks: number) => void) | undefined;
}

const MAX_BATCH = 1000;

/** The producer API: submit, get, list and cancel tasks. */
export function createTaskService(deps: TaskServiceDeps): ServiceImpl<typeof TaskService> {
  const nowMs = deps.nowMs ?? preciseNowMs;

  /** Answers for tasks just submitted: new ones from memory, existing ones from Postgres. */
  async function rowsFor(tasks: NewTask[], outcomes: { id: string; existing: boolean }[]): Promise<TaskRow[]> {
    const existing = await deps.repository.getMany(outcomes.filter((o) => o.existing).map((o) => o.id));
    return outcomes.map((o, i) => {
      if (!o.existing) return rowOfNewTask(tasks[i]!);
      const row = existing.get(o.id);
      if (!row) throw new NotFoundError(`task ${o.id} vanished`);
      return row;
    });
  }

  return {
    async submitTask(req, context) {
      const task = validateSubmit(req, deps.policy, nowMs());
      const trace = deps.tracing?.carried(context);
      if (trace) task.trace = trace;
      const [outcome] = await deps.submitter.submit([task], deps.tracing?.steps(context));
      deps.lifecycle?.submitted([task], [outcome!], rpcLogFields(context.values));
      const [row] = await rowsFor([task], [outcome!]);
      return new SubmitTaskReply(row!, outcome!.existing);
    },

    async submitTasks(req, context) {
      if (req.tasks.length === 0) throw new InvalidArgumentError("tasks", "must contain at least one task");
      if (req.tasks.length > MAX_BATCH) {
        throw new InvalidArgumentError("tasks", `at most ${MAX_BATCH} tasks per call, got ${req.tasks.length}`);
      }
      if (!(req.view in TaskView)) throw new InvalidArgumentError("view", `unknown TaskView ${req.view}`);
      const at = nowMs();
      const validated = req.tasks.map((item: SubmitTaskRequest, i: number) => {
        try {
          return validateSubmit(item, deps.policy, at, `tasks[${i}].`);
        } catch (error) {
          if (error instanceof TaskQueueError) return error;
          throw error;
        }
      });
      const accepted = validated.filter((v): v is NewTask => !(v instanceof TaskQueueError));
      const trace = deps.tracing?.carried(context);
      if (trace) for (const task of accepted) task.trace = trace;
      const outcomes = await deps.submitter.submit(accepted, deps.tracing?.steps(context));
      deps.lifecycle?.submitted(accepted, outcomes, rpcLogFields(context.values));
      const rows = await rowsFor(accepted, outcomes);
      let next = 0;
      return new SubmitTasksReply(
        validated.map((v) => {
          if (v instanceof TaskQueueError) {
            const field = "field" in v ? String((v as { field: string }).field) : "";
            return { error: { code: v.code, message: v.message, field } };
          }
          const i = next++;
          return { row: rows[i]!, existing: outcomes[i]!.existing };
        }),
        req.view === TaskView.BASIC,
      );
    },

    async getTask(req) {
      checkTaskId(req.id);
      const row = await deps.repository.get(req.id);
      if (!row) throw new NotFoundError(`task ${req.id} not found`);
      const attempts = req.includeAttempts ? await deps.repository.attempts(req.id) : [];
      return { task: taskOfRow(row), attempts: attempts.map(attemptOfRow) };
    },

    async listTasks(req) {
      if (req.queue !== "" && !/^[A-Za-z0-9._:-]{1,128}$/.test(req.queue)) {
        throw new InvalidArgumentError("queue", `"${req.queue.slice(0, 40)}" is not a valid queue name`);
      }
      if (req.type !== "") checkTypeName(req.type);
      const states: TaskStateName[] = req.states.map((s, i) => {
        const name = stateNameOf(s);
        if (!name) throw new InvalidArgumentError(`states[${i}]`, `unknown state ${s}`);
        return name;
      });
      const beforeId = req.pageToken ? decodePageToken(req.pageToken) : undefined;
      const limit = pageSizeOf(req.pageSize);
      const rows = await deps.repository.list({
        queue: req.queue || undefined,
        type: req.type || undefined,
        states,
        beforeId,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const more = rows.length > limit;
      return {
        tasks: page.map((row) => taskOfRow(row)),
        nextPageToken: more ? encodePageToken(page[page.length - 1]!.id) : "",
      };
    },

    async cancelTask(req) {
      checkTaskId(req.id);
      if (req.reason.length > 1024) throw new InvalidArgumentError("reason", "must be at most 1024 characters");
      checkStorableText(req.reason, "reason");
      const row = await deps.canceller.cancel(req.id, req.reason);
      if (row.state === "CANCELLED") deps.lifecycle?.cancelledQueued(row.id, row.queue);
      deps.onCancelled?.(row.queue);
      return { task: taskOfRow(row) };
    },
  };
}

/** The row a task just inserted has, without reading it back. */
function rowOfNewTask(t: NewTask): TaskRow {
  return {
    id: t.id,
    queue: t.queue,
    type: t.type,
    payload: t.payload,
    payload_format: t.payloadFormat,
    priority: t.priority,
    state: t.runAt ? "SCHEDULED" : "QUEUED",
    attempt: 0,
    max_attempts: t.maxAttempts,
    backoff_initial_ms: t.backoffInitialMs,
    backoff_max_ms: t.backoffMaxMs,
    backoff_multiplier: t.backoffMultiplier,
    timeout_ms: t.timeoutMs,
    idempotency_key: t.idempotencyKey,
    concurrency_key: t.concurrencyKey ?? null,
    labels: t.labels,
    created_at: new Date(t.createdMs),
    updated_at: new Date(t.createdMs),
    scheduled_at: t.runAt,
    started_at: null,
    finished_at: null,
    worker_id: null,
    result: null,
    result_format: null,
    last_error: null,
    progress: null,
    cancel_reason: null,
    start_deadline: t.startDeadline,
    attempt_budget: null,
    traceparent: t.trace?.traceparent ?? null,
    tracestate: t.trace?.tracestate || null,
  };
}
