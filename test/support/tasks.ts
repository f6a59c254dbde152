import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { type Task, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import { waitFor } from "./wait-for.js";

/** Waits until GetTask shows the task in `state` (deadline `timeoutMs`), and returns it. */
export async function waitForState(
  client: Client<typeof TaskService>,
  id: string,
  state: TaskState,
  timeoutMs = 10_000,
): Promise<Task> {
  let last: Task | undefined;
  try {
    return await waitFor(
      async () => {
        last = (await client.getTask({ id })).task;
        return last?.state === state ? last : undefined;
      },
      { timeoutMs, intervalMs: 20, message: `task ${id} to be ${TaskState[state]}` },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${last ? TaskState[last.state] : "nothing"}`);
  }
}

/** A JSON payload oneof for SubmitTaskRequest. */
export function jsonPayload(value: JsonValue): { case: "payload"; value: Value } {
  return { case: "payload", value: fromJson(ValueSchema, value) };
}
