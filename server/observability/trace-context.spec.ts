import { createContextValues } from "@connectrpc/connect";
import { propagation, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcTraceKey } from "./rpc-trace.js";
import { callStepEvents, carriedTraceContext } from "./trace-context.js";

beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
afterAll(() => propagation.disable());

/** A call whose RPC span a tracer that samples (or not) started; its span too. */
function tracedCall(sampled: boolean, requestHeader = new Headers()) {
  const tracer = new BasicTracerProvider({ sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler() }).getTracer("t");
  const span = tracer.startSpan("rpc");
  const values = createContextValues().set(rpcTraceKey, trace.setSpan(ROOT_CONTEXT, span));
  return { call: { values, requestHeader }, span };
}

describe("carriedTraceContext", () => {
  it("carries a sampled trace, and an unsampled one only when the caller sent a traceparent", () => {
    expect(carriedTraceContext(tracedCall(true).call)?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(carriedTraceContext(tracedCall(false).call)).toBeUndefined();
    const sent = new Headers({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" });
    expect(carriedTraceContext(tracedCall(false, sent).call)?.traceparent).toMatch(/-00$/);
    // A call with no RPC span (tracing off): nothing to carry.
    expect(carriedTraceContext({ values: createContextValues(), requestHeader: sent })).toBeUndefined();
  });

  it("names the call's RPC span, whatever context is active when it is asked", () => {
    const { call, span } = tracedCall(true);
    expect(carriedTraceContext(call)?.traceparent).toBe(`00-${span.spanContext().traceId}-${span.spanContext().spanId}-01`);
  });
});

describe("callStepEvents", () => {
  it("adds the steps to a sampled RPC span and does nothing for an unsampled or absent one", () => {
    const { call, span } = tracedCall(true);
    callStepEvents(call.values)!("committed", 3);
    expect((span as unknown as { events: { name: string; attributes: object }[] }).events).toEqual([
      expect.objectContaining({ name: "committed", attributes: { "taskqueue.tasks": 3 } }),
    ]);
    expect(callStepEvents(tracedCall(false).call.values)).toBeUndefined();
    expect(callStepEvents(createContextValues())).toBeUndefined();
  });
});
