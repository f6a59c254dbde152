/**
 * The server's tracing, loaded before anything else with `node --import` (see `npm run
 * server`): when the OTEL_* variables ask for tracing, it installs the ESM loader hook of
 * `@opentelemetry/instrumentation` (grpc-js is then instrumented however it is imported),
 * starts the SDK and registers the gRPC instrumentation — all before grpc-js loads. When
 * tracing is off it only reads the environment.
 */
import { register } from "node:module";
import { startTracing, tracingRequested } from "../../wire/otel-sdk.js";

if (tracingRequested()) {
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
  const [{ registerInstrumentations }, { GrpcInstrumentation }] = await Promise.all([
    import("@opentelemetry/instrumentation"),
    import("@opentelemetry/instrumentation-grpc"),
  ]);
  await startTracing("taskqueue-server", process.env, { callStackContext: true });
  registerInstrumentations({ instrumentations: [new GrpcInstrumentation()] });
}
