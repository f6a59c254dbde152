import { create } from "@bufbuild/protobuf";
import {
  SubmitErrorSchema,
  SubmitTaskResponseSchema,
  SubmitTasksResponseSchema,
  SubmitTasksResultSchema,
  type SubmitTasksResult,
} from "../../gen/taskqueue/v1/task_service_pb.js";
import type { Task } from "../../gen/taskqueue/v1/task_pb.js";
import type { TaskRow } from "../db/schema.js";
import { defineLazyField, ENCODE_BINARY, type SelfEncoding } from "../transport/fast-message.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { ProtoWriter } from "../../wire/proto-writer.js";
import { taskOfRow } from "./task-mapper.js";
import { writeTaskRow } from "./task-wire.js";

const SINGLE = fieldNumbers(SubmitTaskResponseSchema);
const BATCH = fieldNumbers(SubmitTasksResponseSchema);
const RESULT = fieldNumbers(SubmitTasksResultSchema);
const ERROR = fieldNumbers(SubmitErrorSchema);

/** The outcome of one item of a batch submit: its stored task, or why it was refused. */
export type SubmitOutcome = { row: TaskRow; existing: boolean } | { error: { code: string; message: string; field: string } };

/**
 * A `SubmitTasksResponse` that writes its own bytes over gRPC (tasks without payloads,
 * straight from their rows) and reads like a protobuf-es message anywhere else.
 */
export class SubmitTasksReply implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.SubmitTasksResponse" as const;
  /** One result per submitted item, in order; built on first read. */
  declare readonly results: SubmitTasksResult[];

  constructor(
    private readonly outcomes: SubmitOutcome[],
    /** True for TASK_VIEW_BASIC: identity and state of each task only. */
    private readonly basic = false,
  ) {
    defineLazyField(this, "results", () => outcomes.map((o) => resultMessage(o, basic)));
  }

  [ENCODE_BINARY](): Uint8Array {
    const w = new ProtoWriter(64 + this.outcomes.length * 140);
    for (const o of this.outcomes) {
      const result = w.fork(BATCH.results);
      if ("error" in o) {
        const error = w.fork(RESULT.error);
        w.stringIfSet(ERROR.code, o.error.code).stringIfSet(ERROR.message, o.error.message).stringIfSet(ERROR.field, o.error.field);
        w.join(error);
      } else {
        writeTaskRow(w, RESULT.task, o.row, { withPayload: false, basic: this.basic });
        w.boolIfSet(RESULT.existing, o.existing);
      }
      w.join(result);
    }
    return w.finish();
  }
}

/**
 * A `SubmitTaskResponse` that writes its own bytes over gRPC, straight from the stored row,
 * and reads like a protobuf-es message anywhere else.
 */
export class SubmitTaskReply implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.SubmitTaskResponse" as const;
  /** The task as committed; built on first read. */
  declare readonly task: Task;

  constructor(
    private readonly row: TaskRow,
    /** True when the idempotency key matched an existing task. */
    readonly existing: boolean,
  ) {
    defineLazyField(this, "task", () => taskOfRow(row));
  }

  [ENCODE_BINARY](): Uint8Array {
    const w = new ProtoWriter(256 + this.row.payload.length * 2);
    writeTaskRow(w, SINGLE.task, this.row);
    w.boolIfSet(SINGLE.existing, this.existing);
    return w.finish();
  }
}

function resultMessage(o: SubmitOutcome, basic: boolean): SubmitTasksResult {
  if ("error" in o) {
    return create(SubmitTasksResultSchema, { outcome: { case: "error", value: create(SubmitErrorSchema, o.error) } });
  }
  return create(SubmitTasksResultSchema, {
    outcome: { case: "task", value: taskOfRow(o.row, { withPayload: false, basic }) },
    existing: o.existing,
  });
}
