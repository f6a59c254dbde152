import type { TracerProvider } from "@opentelemetry/api";

/*
 * Tracing with OpenTelemetry, configured by the standard OTEL_* environment variables and
 * shared by the server, the worker SDK's example worker and the clients' examples. Off by
 * default: without an OTLP endpoint (or OTEL_TRACES_EXPORTER) nothing here loads the SDK, so
 * the API stays a no-op and costs nothing.
 */

/** Environment variables, as `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether the OTEL_* variables ask for tracing: not `OTEL_SDK_DISABLED=true`, not
 * `OTEL_TRACES_EXPORTER=none`, and an exporter named (`otlp`, `console`) or an OTLP endpoint set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 */
export function tracingRequested(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === "none") return false;
  if (exporter === "otlp" || exporter === "console") return true;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The OTLP protocols this module exports spans with. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Raised when the OTEL_* variables ask for something this module cannot do. */
export class TracingConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TracingConfigError";
  }
}

/**
 * The trace exporter's protocol: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf` (the specification's default).
 */
export function otlpProtocol(env: Env = process.env): OtlpProtocol {
  const value = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (value === "http/protobuf" || value === "http/json") return value;
  throw new TracingConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: "${value}" is not supported; use http/protobuf or http/json`);
}

/** Options of {@link startTracing}. */
export interface StartTracingOptions {
  /**
   * Keep the active context only for the synchronous extent of each `context.with()`
   * ({@link CallStackContextManager}) instead of following it across `await` with
   * `AsyncLocalStorage`. For a process that passes the contexts it needs explicitly: it saves
   * the async hooks Node 20 would otherwise run for every promise and callback.
   */
  callStackContext?: boolean;
}

/** A started tracing SDK. */
export interface TracingHandle {
  provider: TracerProvider;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
  /** Flushes and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the tracing SDK when the OTEL_* variables ask for it (see {@link tracingRequested}),
 * and registers it globally (tracer provider, AsyncLocalStorage context, W3C trace context
 * propagator), so `@opentelemetry/api` calls anywhere in the process record spans. Returns
 * undefined, having loaded nothing, when tracing is off. The sampler follows
 * `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default `parentbased_always_on`), the
 * service name `OTEL_SERVICE_NAME` (else `defaultServiceName`), further resource attributes
 * `OTEL_RESOURCE_ATTRIBUTES`; the exporter reads its endpoint, headers and timeout from the
 * standard variables itself.
 */
export async function startTracing(
  defaultServiceName: string,
  env: Env = process.env,
  options: StartTracingOptions = {},
): Promise<TracingHandle | undefined> {
  if (!tracingRequested(env)) return undefined;
  const console = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === "console";
  const protocol = console ? undefined : otlpProtocol(env);
  const [{ NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter }, resources] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/resources"),
  ]);
  const exporter = console
    ? new ConsoleSpanExporter()
    : protocol === "http/json"
      ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter()
      : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
  const resource = resources
    .resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME?.trim() || defaultServiceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  const contextManager = options.callStackContext
    ? new (await import("./call-stack-context-manager.js")).CallStackContextManager()
    : undefined;
  provider.register(contextManager ? { contextManager } : {});
  return {
    provider,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * Flushes and stops the tracing SDK registered globally by {@link startTracing} (from a
 * `--import` register module, whose handle the program does not hold), within `timeoutMs`.
 * Nothing to do when tracing is off.
 */
export async function shutdownRegisteredTracing(timeoutMs = 2_000): Promise<void> {
  const { trace } = await import("@opentelemetry/api");
  const proxy = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  const delegate = (proxy.getDelegate?.() ?? proxy) as TracerProvider & { shutdown?: () => Promise<void> };
  if (typeof delegate.shutdown !== "function") return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    delegate.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs).unref())),
  ]);
  clearTimeout(timer);
}
