import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TaskService } from "../../gen/taskqueue/v1/task_service_pb.js";
import { LazyHandlerContext } from "./lazy-handler-context.js";

function context(deadlineMs?: number, readRequestHeader = () => new Headers({ "x-a": "1" })) {
  return new LazyHandlerContext({
    service: TaskService,
    method: TaskService.method.submitTask,
    protocolName: "grpc",
    requestMethod: "POST",
    host: "localhost:1",
    deadlineMs,
    readRequestHeader,
  });
}

describe("LazyHandlerContext", () => {
  it("gives a signal made after the abort already aborted, with the reason", () => {
    const c = context();
    const reason = new Error("cancelled");
    c.abort(reason);
    c.abort(new Error("ignored"));
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe(reason);
  });

  it("aborts a signal made before the abort", () => {
    const c = context();
    const signal = c.signal;
    expect(signal.aborted).toBe(false);
    c.abort("done");
    expect(signal.reason).toBe("done");
  });

  it("aborts the signal with DEADLINE_EXCEEDED when the deadline passes", async () => {
    const c = context(Date.now() + 5);
    expect(c.timeoutMs()).toBeLessThanOrEqual(5);
    const reason = await new Promise((resolve) => c.signal.addEventListener("abort", () => resolve(c.signal.reason)));
    expect(reason).toBeInstanceOf(ConnectError);
    expect((reason as ConnectError).code).toBe(Code.DeadlineExceeded);
  });

  it("reads the request headers once, when first asked, and tells whether response headers were set", () => {
    let reads = 0;
    const c = context(undefined, () => {
      reads++;
      return new Headers({ "x-a": "1" });
    });
    expect(reads).toBe(0);
    expect(c.requestHeader.get("x-a")).toBe("1");
    expect(c.requestHeader.get("x-a")).toBe("1");
    expect(reads).toBe(1);
    expect(c.timeoutMs()).toBeUndefined();
    expect(c.url).toBe("http://localhost:1/taskqueue.v1.TaskService/SubmitTask");
    expect([c.hasResponseHeader, c.hasResponseTrailer]).toEqual([false, false]);
    c.responseHeader.set("x-b", "2");
    c.responseTrailer.set("x-c", "3");
    expect([c.hasResponseHeader, c.hasResponseTrailer]).toEqual([true, true]);
    c.values.set({ id: Symbol("k"), defaultValue: 0 }, 1);
  });
});
