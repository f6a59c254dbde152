import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors.js";
import { checkQueueName } from "./submit-validation.js";

describe("checkQueueName", () => {
  it("refuses what the shared rule refuses, naming the field and quoting the name", () => {
    expect(() => checkQueueName("")).toThrow(new InvalidArgumentError("queue", "is required"));
    expect(() => checkQueueName("a b", "hello.queues[0]")).toThrow(
      'hello.queues[0]: "a b" must be 1-128 characters of letters, digits and . _ : -',
    );
    expect(() => checkQueueName("x".repeat(129))).toThrow(`queue: "${"x".repeat(40)}…" must be 1-128 characters`);
  });

  it("accepts a valid name", () => {
    expect(() => checkQueueName("A.b_c:d-9")).not.toThrow();
  });
});
