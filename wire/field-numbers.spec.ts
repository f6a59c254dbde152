import { describe, expect, it } from "vitest";
import { TaskSchema } from "../gen/taskqueue/v1/task_pb.js";
import { fieldNumbers } from "./field-numbers.js";

describe("fieldNumbers", () => {
  it("reads every field's number by its local name, oneof members included, into a frozen object", () => {
    const task = fieldNumbers(TaskSchema);
    expect(task).toMatchObject({ id: 1, payload: 4, payloadBytes: 5, createdAt: 10, lastError: 16, startDeadline: 24 });
    expect(Object.keys(task)).toHaveLength(TaskSchema.fields.length);
    expect(Object.isFrozen(task)).toBe(true);
  });
});
