import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
import { TaskLifecycleLog, traceFieldsOf } from "./task-lifecycle-log.js";

const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/** A pino logger at `level` writing its lines into the returned array. */
function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe("task lifecycle log", () => {
  it("exists only when the logger writes debug lines", () => {
    expect(TaskLifecycleLog.forLogger(capture("info").logger)).toBeUndefined();
    expect(TaskLifecycleLog.forLogger(capture("debug").logger)).toBeInstanceOf(TaskLifecycleLog);
  });

  it("writes one debug line per event, naming the task's trace when it has one", () => {
    const { logger, lines } = capture("debug");
    const log = TaskLifecycleLog.forLogger(logger)!;
    log.leased([{ id: "t1", queue: "q", type: "echo", attempt: 1, sessionId: "s", trace: { traceparent, tracestate: "" } } as LeasedRecord]);
    const end = (state: LeaseEnd["state"], how: LeaseEnd["how"]) => ({ id: "t1", queue: "q", attempt: 1, how, state, workerId: "w" }) as LeaseEnd;
    log.ended([end("FAILED", "failed"), end("QUEUED", "lost"), end("DEAD", "expired"), end("CANCELLED", "expired"), end("SUCCEEDED", "succeeded")], (id) =>
      id === "t1" ? { traceparent, tracestate: "" } : undefined,
    );
    log.cancelledQueued("t2", "q");
    expect(lines.map((l) => [l.level, l.msg, l.taskId, l.trace_id, l.span_id])).toEqual([
      [20, "task leased", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task failed: retry scheduled", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task requeued", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task dead-lettered", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task cancelled", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task succeeded", "t1", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"],
      [20, "task cancelled", "t2", undefined, undefined],
    ]);
  });

  it("reads no ids from a missing or malformed traceparent", () => {
    expect(traceFieldsOf(undefined)).toEqual({});
    expect(traceFieldsOf({ traceparent: "00-abc", tracestate: "" })).toEqual({});
  });
});
