import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { carriedTraceContext } from "./trace-context.js";

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

/** Runs `fn` inside a span of a tracer that samples (or not). */
function inSpan<T>(sampled: boolean, fn: () => T): T {
  const tracer = new BasicTracerProvider({ sampler: sampled ? new AlwaysOnSampler() : new AlwaysOffSampler() }).getTracer("t");
  const span = tracer.startSpan("rpc");
  try {
    return context.with(trace.setSpan(context.active(), span), fn);
  } finally {
    span.end();
  }
}

describe("carriedTraceContext", () => {
  it("carries a sampled trace, and an unsampled one only when the caller sent a traceparent", () => {
    expect(inSpan(true, () => carriedTraceContext(new Headers()))?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(inSpan(false, () => carriedTraceContext(new Headers()))).toBeUndefined();
    const sent = new Headers({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" });
    expect(inSpan(false, () => carriedTraceContext(sent))?.traceparent).toMatch(/-00$/);
    expect(carriedTraceContext(sent)).toBeUndefined(); // no active span: nothing to carry
  });
});
