import { createContextKey, ROOT_CONTEXT } from "@opentelemetry/api";
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { CallStackContextManager } from "./call-stack-context-manager.js";

const key = createContextKey("k");
const ctx = (value: string) => ROOT_CONTEXT.setValue(key, value);
const valueOf = (manager: CallStackContextManager) => manager.active().getValue(key);

describe("CallStackContextManager", () => {
  it("makes a context active for the synchronous extent of with(), nested, and restores it after a throw", () => {
    const manager = new CallStackContextManager();
    expect(manager.active()).toBe(ROOT_CONTEXT);
    const seen = manager.with(ctx("outer"), () => {
      const inner = manager.with(ctx("inner"), () => valueOf(manager));
      return [inner, valueOf(manager)];
    });
    expect(seen).toEqual(["inner", "outer"]);
    expect(() =>
      manager.with(ctx("x"), () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it("passes this and the arguments to the function", () => {
    const manager = new CallStackContextManager();
    const target = { n: 2, times(by: number) { return this.n * by; } };
    expect(manager.with(ctx("a"), target.times, target, 21)).toBe(42);
  });

  it("does not follow an await: the context is the caller's again once the function returns", async () => {
    const manager = new CallStackContextManager();
    const after = manager.with(ctx("a"), async () => {
      await Promise.resolve();
      return valueOf(manager);
    });
    expect(valueOf(manager)).toBeUndefined();
    expect(await after).toBeUndefined();
  });

  it("binds a function to a context", () => {
    const manager = new CallStackContextManager();
    const bound = manager.bind(ctx("b"), (x: number) => `${String(valueOf(manager))}:${x}`);
    expect(bound(1)).toBe("b:1");
    expect(valueOf(manager)).toBeUndefined();
  });

  it("binds an emitter: later listeners run in the context, and removing the original listener works", () => {
    const manager = new CallStackContextManager();
    const emitter = manager.bind(ctx("e"), new EventEmitter());
    const seen: unknown[] = [];
    const listener = () => seen.push(valueOf(manager));
    emitter.on("data", listener);
    emitter.once("data", listener);
    emitter.emit("data");
    emitter.emit("data");
    emitter.removeListener("data", listener);
    emitter.emit("data");
    expect(seen).toEqual(["e", "e", "e"]);
    expect(emitter.listenerCount("data")).toBe(0);
  });

  it("returns other targets unchanged", () => {
    const manager = new CallStackContextManager();
    const plain = { a: 1 };
    expect(manager.bind(ctx("x"), plain)).toBe(plain);
    expect(manager.enable()).toBe(manager);
  });
});
