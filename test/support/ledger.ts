import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "../../server/services/proto-time.js";
import type { Client } from "@connectrpc/connect";
import type { SubmitTaskRequestSchema, TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { jsonPayload } from "./tasks.js";

/** What a task must end as, and how its stored result shows which attempt produced it. */
export type Expectation =
  /** `echo` with a unique nonce: the result must be exactly the payload. */
  | { kind: "echo"; nonce: string }
  /** `fail` failing its first `times` attempts: the result is `{ attempt }` of the accepted lease. */
  | { kind: "fail"; times: number; maxAttempts: number }
  /** `sleep` for `ms`: the result is `{ slept: ms }`. */
  | { kind: "sleep"; ms: number };

/** A task request and what it must end as. */
export interface PlannedTask {
  /** The SubmitTask request. */
  request: MessageInitShape<typeof SubmitTaskRequestSchema>;
  /** What the task must end as. */
  expectation: Expectation;
}

/** Retry settings applied to planned tasks. */
export interface PlanOptions {
  /** Attempts allowed. Default 5. */
  maxAttempts?: number;
  /** First retry back-off, ms. Default 50. */
  initialBackoffMs?: number;
  /** Back-off cap, ms. Default 200. */
  maxBackoffMs?: number;
}

function retryPolicy(options: PlanOptions) {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    initialBackoff: durationFromMs(options.initialBackoffMs ?? 50),
    maxBackoff: durationFromMs(options.maxBackoffMs ?? 200),
    backoffMultiplier: 2,
  };
}

/** An `echo` task whose payload carries a fresh nonce. */
export function echoTask(queue: string, options: PlanOptions = {}): PlannedTask {
  const nonce = randomBytes(8).toString("hex");
  return {
    request: { queue, type: "echo", payloadData: jsonPayload({ nonce }), retryPolicy: retryPolicy(options) },
    expectation: { kind: "echo", nonce },
  };
}

/** A `fail` task that fails its first `times` attempts (retryable), then returns `{ attempt }`. */
export function failTask(queue: string, times: number, options: PlanOptions = {}): PlannedTask {
  const policy = retryPolicy(options);
  return {
    request: { queue, type: "fail", payloadData: jsonPayload({ times }), retryPolicy: policy },
    expectation: { kind: "fail", times, maxAttempts: policy.maxAttempts },
  };
}

/** A `sleep` task of `ms`. */
export function sleepTask(queue: string, ms: number, options: PlanOptions = {}): PlannedTask {
  return {
    request: { queue, type: "sleep", payloadData: jsonPayload({ ms }), retryPolicy: retryPolicy(options) },
    expectation: { kind: "sleep", ms },
  };
}

/**
 * The tasks a test got acknowledged by the server, with what each must end as. Only what
 * SubmitTask(s) answered with a task counts as acknowledged.
 */
export class TaskLedger {
  /** What each acknowledged task (by id) must end as. */
  readonly expected = new Map<string, Expectation>();
  /** Queues of the acknowledged tasks. */
  readonly queues = new Set<string>();

  /** Records one acknowledged task. */
  record(id: string, queue: string, expectation: Expectation): void {
    this.expected.set(id, expectation);
    this.queues.add(queue);
  }

  /** Acknowledged task ids, in submission order. */
  get ids(): string[] {
    return [...this.expected.keys()];
  }

  /** Submits one task; records it once acknowledged and returns its id. */
  async submit(client: Client<typeof TaskService>, planned: PlannedTask): Promise<string> {
    const { task } = await client.submitTask(planned.request);
    if (!task) throw new Error("SubmitTask answered without a task");
    this.record(task.id, task.queue, planned.expectation);
    return task.id;
  }

  /**
   * Submits tasks with SubmitTasks (up to 1000 per call); records every accepted item and
   * throws if an item was refused. Returns the ids in order.
   */
  async submitBatch(client: Client<typeof TaskService>, planned: readonly PlannedTask[]): Promise<string[]> {
    const { results } = await client.submitTasks({ tasks: planned.map((p) => p.request) });
    const ids: string[] = [];
    results.forEach((result, i) => {
      if (result.outcome.case !== "task") {
        throw new Error(`SubmitTasks refused item ${i}: ${result.outcome.value?.message ?? "no outcome"}`);
      }
      const task = result.outcome.value;
      this.record(task.id, task.queue, planned[i]!.expectation);
      ids.push(task.id);
    });
    return ids;
  }
}
