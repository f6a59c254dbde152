import { describe, expect, it } from "vitest";
import { newTaskId, randomToken } from "./ids.js";

describe("newTaskId", () => {
  it("is a version-7 UUID whose first 48 bits are the time, so ids sort by creation", () => {
    const id = newTaskId(0x0123456789ab);
    expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const earlier = newTaskId(1_000);
    const later = newTaskId(2_000);
    expect(earlier < later).toBe(true);
  });

  it("does not repeat across many ids drawn from the pooled random bytes", () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => newTaskId(42)));
    expect(ids.size).toBe(5_000);
  });
});

describe("randomToken", () => {
  it("makes distinct base64url tokens of the asked size from the pooled random bytes", () => {
    const tokens = Array.from({ length: 3_000 }, () => randomToken());
    expect(new Set(tokens).size).toBe(3_000);
    for (const token of tokens.slice(0, 10)) expect(token).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(randomToken(12)).toHaveLength(16);
  });
});
