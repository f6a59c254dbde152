import { describe, expect, it } from "vitest";
import { keySlot } from "./key-slot.js";

describe("keySlot", () => {
  it("gives Redis Cluster's slots (values from CLUSTER KEYSLOT)", () => {
    expect(keySlot("123456789")).toBe(12739);
    expect(keySlot("foo")).toBe(12182);
    expect(keySlot("{user1000}.following")).toBe(keySlot("user1000"));
    expect(keySlot("foo{}{bar}")).toBe(keySlot("foo{}{bar}"));
    expect(keySlot("{tq:emails}:types")).toBe(keySlot("{tq:emails}:t:abc"));
  });
});
