// Package otelsetup turns OpenTelemetry tracing on for the example programs from the
// standard OTEL_* environment variables, as the server and the TypeScript example worker do:
// off unless OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_TRACES_EXPORTER=otlp|console is set; off with OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none. Spans are exported with OTLP over HTTP (http/protobuf, the
// specification's default); the exporter reads its endpoint, headers and timeout, the SDK its
// sampler (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG) and resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES) from the environment themselves.
package otelsetup

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// Requested reports whether the OTEL_* variables ask for tracing.
func Requested() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER"))) {
	case "none":
		return false
	case "otlp", "console":
		return true
	}
	return strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// Start registers a tracer provider and the W3C trace context propagator when tracing is
// requested, with defaultService as the service name unless OTEL_SERVICE_NAME says otherwise.
// The returned function flushes and stops it (a no-op when tracing is off).
func Start(ctx context.Context, defaultService string) (func(context.Context) error, error) {
	if !Requested() {
		return func(context.Context) error { return nil }, nil
	}
	var exporter sdktrace.SpanExporter
	var err error
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")), "console") {
		exporter, err = stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	} else {
		protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if protocol == "" {
			protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		if p := strings.TrimSpace(protocol); p != "" && p != "http/protobuf" {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL: %q is not supported by the Go examples; use http/protobuf", p)
		}
		exporter, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry exporter: %w", err)
	}
	res, err := resource.Merge(
		resource.NewSchemaless(semconv.ServiceName(defaultService)),
		resource.Default(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return provider.Shutdown, nil
}
