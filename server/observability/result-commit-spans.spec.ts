import { propagation, trace } from "@opentelemetry/api";
import { hrTimeToMilliseconds, W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
import { recordDispatchSpans } from "./dispatch-spans.js";
import { ResultCommitSpans } from "./result-commit-spans.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  propagation.disable();
});

const traceId = "0af7651916cd43dd8448eb211c80319c";
const sampled = { traceparent: `00-${traceId}-b7ad6b7169203331-01`, tracestate: "k=v" };
const unsampled = { traceparent: `00-${traceId}-b7ad6b7169203331-00`, tracestate: "" };
const leased = (id: string, t?: typeof sampled) => ({ id, trace: t }) as LeasedRecord;
/** When the leases of {@link end} started: a real epoch time (small numbers are taken as performance.now() times). */
const leaseStartMs = Date.now() - 5_000;
const end = (id: string, how = "failed", state = "FAILED") => ({ id, queue: "q", attempt: 2, how, state, startedMs: leaseStartMs, workerId: "w1" }) as LeaseEnd;
const batch = (ids: string[]) => ({ accepted: ids.map((id) => end(id)), size: 3, startedMs: leaseStartMs + 1_000, fencedMs: leaseStartMs + 1_002, committedMs: leaseStartMs + 1_005 });

describe("result commit spans", () => {
  it("records a span per committed result of a sampled task leased here, parented on the submit", () => {
    exporter.reset();
    const spans = new ResultCommitSpans();
    spans.leased([leased("a", sampled), leased("b", unsampled), leased("c")]);
    expect(spans.size).toBe(1);
    spans.committed(batch(["a", "b", "c"]));
    expect(spans.traceOf("a")).toEqual(sampled);
    spans.ended(batch(["a", "b", "c"]).accepted);
    const [span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toEqual([]);
    expect(span!.name).toBe("commit result");
    expect(span!.spanContext().traceId).toBe(traceId);
    expect(span!.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span!.attributes).toMatchObject({ "taskqueue.task.id": "a", "taskqueue.attempt": 2, "taskqueue.outcome": "failed", "taskqueue.state": "FAILED", "taskqueue.batch.size": 3 });
    expect(span!.events.map((e) => e.name)).toEqual(["fenced"]);
    expect(hrTimeToMilliseconds(span!.startTime)).toBe(leaseStartMs + 1_000);
    expect(hrTimeToMilliseconds(span!.endTime)).toBe(leaseStartMs + 1_005);
    expect(spans.size).toBe(0);
  });

  it("forgets tasks whose lease ended otherwise", () => {
    exporter.reset();
    const spans = new ResultCommitSpans();
    spans.leased([leased("a", sampled)]);
    spans.ended([end("a")]);
    spans.committed(batch(["a"]));
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(spans.size).toBe(0);
  });

  it("records an end lease span for a lease the server ended itself: lost, expired, timed out or cancelled", () => {
    exporter.reset();
    const spans = new ResultCommitSpans();
    spans.leased(["lost", "expired", "timeout", "cancelled", "other"].map((id) => leased(id, sampled)));
    spans.leased([leased("unsampled", unsampled)]);
    spans.ended([
      end("lost", "lost", "QUEUED"),
      end("expired", "expired", "FAILED"),
      end("timeout", "timeout", "DEAD"),
      end("cancelled", "expired", "CANCELLED"),
      end("unsampled", "lost", "QUEUED"),
      end("unknown", "lost", "QUEUED"),
    ]);
    const finished = exporter.getFinishedSpans();
    expect(finished.map((s) => [s.name, s.attributes["taskqueue.task.id"], s.attributes["taskqueue.outcome"], s.attributes["taskqueue.state"], s.status.code])).toEqual([
      ["end lease", "lost", "lost", "QUEUED", 2],
      ["end lease", "expired", "expired", "FAILED", 2],
      ["end lease", "timeout", "timeout", "DEAD", 2],
      ["end lease", "cancelled", "cancelled", "CANCELLED", 0],
    ]);
    for (const s of finished) {
      expect(s.spanContext().traceId).toBe(traceId);
      expect(s.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
      expect(s.attributes).toMatchObject({ "taskqueue.queue": "q", "taskqueue.attempt": 2, "taskqueue.worker.id": "w1" });
      // From the lease's start to its end.
      expect(hrTimeToMilliseconds(s.startTime)).toBe(leaseStartMs);
      expect(hrTimeToMilliseconds(s.endTime)).toBeGreaterThanOrEqual(leaseStartMs + 5_000);
    }
    expect(spans.size).toBe(1);
  });

  it("names a cancelled task's committed result cancelled", () => {
    exporter.reset();
    const spans = new ResultCommitSpans();
    spans.leased([leased("a", sampled)]);
    spans.committed({ ...batch([]), accepted: [end("a", "failed", "CANCELLED")] });
    expect(exporter.getFinishedSpans()[0]!.attributes).toMatchObject({ "taskqueue.outcome": "cancelled", "taskqueue.state": "CANCELLED" });
  });

  it("gives the results of one trace committed together one span per outcome, with their count", () => {
    exporter.reset();
    const other = { traceparent: "00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01", tracestate: "" };
    const spans = new ResultCommitSpans();
    spans.leased([leased("a", sampled), leased("b", sampled), leased("c", sampled), leased("d", other)]);
    const ended = [end("a"), end("b"), end("c", "succeeded", "SUCCEEDED"), end("d")];
    spans.committed({ accepted: ended, size: 4, startedMs: leaseStartMs + 1_000, fencedMs: leaseStartMs + 1_002, committedMs: leaseStartMs + 1_005 });
    spans.ended(ended);
    const got = exporter.getFinishedSpans().map((s) => [s.spanContext().traceId, s.attributes["taskqueue.outcome"], s.attributes["taskqueue.task.count"], s.attributes["taskqueue.task.id"]]);
    expect(got).toEqual([
      [traceId, "failed", 2, undefined],
      [traceId, "succeeded", 1, "c"],
      ["1af7651916cd43dd8448eb211c80319c", "failed", 1, "d"],
    ]);
  });
});

describe("dispatch spans", () => {
  it("gives the tasks of one sampled trace leased together one span from the earliest creation, and unsampled ones none", () => {
    exporter.reset();
    const task = (id: string, createdMs: number, t?: typeof sampled) => ({ id, queue: "q", type: "echo", attempt: 1, createdMs, trace: t }) as LeasedRecord;
    const nowMs = leaseStartMs + 50;
    recordDispatchSpans([task("a", leaseStartMs + 10, sampled), task("b", leaseStartMs, sampled), task("c", leaseStartMs, unsampled), task("d", leaseStartMs), task("e", leaseStartMs + 20, sampled)], nowMs);
    const [span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toEqual([]);
    expect(span!.name).toBe("dispatch q");
    expect(span!.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span!.attributes).toEqual({ "taskqueue.queue": "q", "taskqueue.task.count": 3 });
    expect([hrTimeToMilliseconds(span!.startTime), hrTimeToMilliseconds(span!.endTime)]).toEqual([leaseStartMs, nowMs]);
  });
});
