import { propagation, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeasedRecord, LeaseEnd } from "../redis/queue-store.js";
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
const end = (id: string) => ({ id, queue: "q", attempt: 2, how: "failed", state: "FAILED" }) as LeaseEnd;
const batch = (ids: string[]) => ({ accepted: ids.map(end), size: 3, startedMs: 1_000, fencedMs: 1_002, committedMs: 1_005 });

describe("result commit spans", () => {
  it("records a span per committed result of a sampled task leased here, parented on the submit", () => {
    exporter.reset();
    const spans = new ResultCommitSpans();
    spans.leased([leased("a", sampled), leased("b", unsampled), leased("c")]);
    expect(spans.size).toBe(1);
    spans.committed(batch(["a", "b", "c"]));
    const [span, ...rest] = exporter.getFinishedSpans();
    expect(rest).toEqual([]);
    expect(span!.name).toBe("commit result");
    expect(span!.spanContext().traceId).toBe(traceId);
    expect(span!.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(span!.attributes).toMatchObject({ "taskqueue.task.id": "a", "taskqueue.attempt": 2, "taskqueue.outcome": "failed", "taskqueue.state": "FAILED", "taskqueue.batch.size": 3 });
    expect(span!.events.map((e) => e.name)).toEqual(["fenced"]);
    expect(span!.startTime).toEqual([1, 0]);
    expect(span!.endTime).toEqual([1, 5_000_000]);
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
});
