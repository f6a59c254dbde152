import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { type Task, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { waitFor } from "./wait-for.js";

/**
 * Waits until GetTask shows the task in `state` (deadline `timeoutMs`), and returns it. With
 * `attempt`, the task must also be on that attempt: Postgres records a lease's end and the next
 * lease shortly after Redis moved the task, so `RUNNING` alone may still be the old attempt.
 */
export async function waitForState(
  client: Client<typeof TaskService>,
  id: string,
  state: TaskState,
  timeoutMs = 10_000,
  attempt?: number,
): Promise<Task> {
  let last: Task | undefined;
  const wanted = attempt === undefined ? TaskState[state] : `${TaskState[state]} on attempt ${attempt}`;
  try {
    return await waitFor(
      async () => {
        last = (await client.getTask({ id })).task;
        return last?.state === state && (attempt === undefined || last.attempt === attempt) ? last : undefined;
      },
      { timeoutMs, intervalMs: 20, message: `task ${id} to be ${wanted}` },
    );
  } catch (error) {
    const seen = last ? `${TaskState[last.state]} on attempt ${last.attempt}` : "nothing";
    throw new Error(`${(error as Error).message}; last seen ${seen}`);
  }
}

/** A JSON payload oneof for SubmitTaskRequest. */
export function jsonPayload(value: JsonValue): { case: "payload"; value: Value } {
  return { case: "payload", value: fromJson(ValueSchema, value) };
}
