import { describe, expect, it } from "vitest";
import { unavailableDependency } from "./dependency-errors.js";

function withCode(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe("unavailableDependency", () => {
  it("recognises Postgres outages by SQLSTATE and by the driver's messages", () => {
    expect(unavailableDependency(withCode("terminating connection due to administrator command", "57P01"))).toBe("postgres");
    expect(unavailableDependency(withCode("the database system is starting up", "57P03"))).toBe("postgres");
    expect(unavailableDependency(withCode("connection failure", "08006"))).toBe("postgres");
    expect(unavailableDependency(new Error("Connection terminated unexpectedly"))).toBe("postgres");
    expect(unavailableDependency(withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED", { port: 5432 }))).toBe("postgres");
  });

  it("recognises Redis outages", () => {
    const retries = new Error("Reached the max retries per request limit");
    retries.name = "MaxRetriesPerRequestError";
    expect(unavailableDependency(retries)).toBe("redis");
    expect(unavailableDependency(new Error("Connection is closed."))).toBe("redis");
  });

  it("looks through causes, and leaves other errors alone", () => {
    expect(unavailableDependency(new Error("wrapped", { cause: withCode("x", "57P01") }))).toBe("postgres");
    expect(unavailableDependency(withCode("duplicate key value violates unique constraint", "23505"))).toBeUndefined();
    expect(unavailableDependency(new TypeError("x is undefined"))).toBeUndefined();
    expect(unavailableDependency("not an error")).toBeUndefined();
  });
});
