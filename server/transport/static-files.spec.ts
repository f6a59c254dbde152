import { describe, expect, it } from "vitest";
import { safeRelativePath } from "./static-files.js";

describe("safeRelativePath", () => {
  it("maps plain paths inside the root", () => {
    expect(safeRelativePath("/")).toBe("");
    expect(safeRelativePath("/assets/main-X.js")).toBe("assets/main-X.js");
    expect(safeRelativePath("/queues/a%20b")).toBe("queues/a b");
    expect(safeRelativePath("//assets//x.js")).toBe("assets/x.js");
  });

  it("refuses dot segments, backslashes, NUL bytes and bad escapes, however encoded", () => {
    for (const bad of ["/..", "/../x", "/a/../../x", "/%2e%2e/x", "/a%2f..%2f..%2fx", "/.%2e/x", "/./x", "/a\\..\\x", "/a%5c..%5cx", "/x%00.js", "/%ff", "relative"]) {
      expect([bad, safeRelativePath(bad)]).toEqual([bad, undefined]);
    }
  });
});
