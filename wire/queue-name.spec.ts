import { describe, expect, it } from "vitest";
import { QUEUE_NAME_MAX_LENGTH, queueNameProblem } from "./queue-name.js";

describe("queueNameProblem", () => {
  it("accepts 1-128 characters of letters, digits and . _ : -", () => {
    for (const name of ["q", "emails", "A.b_c:d-9", "x".repeat(QUEUE_NAME_MAX_LENGTH)]) {
      expect(queueNameProblem(name)).toBeUndefined();
    }
  });

  it("names the problem of anything else", () => {
    expect(queueNameProblem("")).toBe("is required");
    for (const name of ["my queue", "q/1", "é", "x".repeat(QUEUE_NAME_MAX_LENGTH + 1), "q\n"]) {
      expect(queueNameProblem(name)).toBe("must be 1-128 characters of letters, digits and . _ : -");
    }
  });
});
