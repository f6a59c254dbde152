import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import { propagation, ROOT_CONTEXT, SpanKind, trace, type Context } from "@opentelemetry/api";
import type { NewTask, TraceContext } from "../engine/task-records.js";
import { rpcSpan, rpcTraceKey } from "./rpc-trace.js";

/**
 * The W3C trace context of the call's RPC span (see {@link rpcTraceKey}), as the `traceparent`
 * and `tracestate` headers would carry it; undefined when the call is not traced. Called only
 * when tracing is on, once per call (not per task).
 */
export function callTraceContext(values: ContextValues): TraceContext | undefined {
  const rpc = values.get(rpcTraceKey);
  if (!rpc) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(rpc, carrier);
  const traceparent = carrier.traceparent;
  return traceparent ? { traceparent, tracestate: carrier.tracestate ?? "" } : undefined;
}

/**
 * The trace context a task submitted in the call carries: the RPC span's when its trace is
 * sampled, or when the caller sent a `traceparent` of its own (the caller's sampling decision
 * then travels to the workers, which keep it). A trace the server started itself and did not
 * sample is not carried: nothing downstream can refer to it, and each task would pay for it in
 * Postgres, Redis and the worker's message.
 */
export function carriedTraceContext(call: Pick<HandlerContext, "values" | "requestHeader">): TraceContext | undefined {
  const active = callTraceContext(call.values);
  if (!active) return undefined;
  return isSampled(active) || call.requestHeader.has("traceparent") ? active : undefined;
}

/**
 * Records a step of the call (e.g. "committed") as an event on its RPC span, when the span is
 * sampled; undefined when there is nothing to record on.
 */
export function callStepEvents(values: ContextValues): ((step: string, tasks: number) => void) | undefined {
  const span = rpcSpan(values);
  if (!span?.isRecording()) return undefined;
  return (step, tasks) => span.addEvent(step, { "taskqueue.tasks": tasks });
}

/** Whether `trace` is a sampled trace (its traceparent's flags have the low bit set); cheap. */
export function isSampled(trace: TraceContext | undefined): trace is TraceContext {
  return trace !== undefined && (parseInt(trace.traceparent.slice(-2), 16) & 1) === 1;
}

/**
 * The context to parent a server span on for a task that carries `trace`, or undefined when it
 * carries none or its trace is not sampled (the trace flags' low bit clear): spans of the
 * server's own are sampled with the submit's.
 */
export function sampledParent(trace: TraceContext | undefined): Context | undefined {
  if (!isSampled(trace)) return undefined;
  const carrier: Record<string, string> = { traceparent: trace.traceparent };
  if (trace.tracestate !== "") carrier.tracestate = trace.tracestate;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Starts a trace of its own for a task a schedule's tick created: a root `schedule <id>` span
 * (kind PRODUCER, ended at once) whose context the task carries, so its attempts form that
 * tick's trace. Only called when tracing is on.
 */
export function traceScheduledTask(scheduleId: string, tickMs: number, task: NewTask): void {
  const span = trace.getTracer("taskqueue-server").startSpan(
    `schedule ${scheduleId}`,
    {
      kind: SpanKind.PRODUCER,
      root: true,
      attributes: { "taskqueue.schedule.id": scheduleId, "taskqueue.schedule.tick": new Date(tickMs).toISOString(), "taskqueue.task.id": task.id },
    },
    ROOT_CONTEXT,
  );
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  span.end();
  if (carrier.traceparent) task.trace = { traceparent: carrier.traceparent, tracestate: carrier.tracestate ?? "" };
}
