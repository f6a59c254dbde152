package taskqueue

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// TraceContextInterceptor sends the OpenTelemetry context of each call's ctx as the W3C
// traceparent and tracestate metadata, through the propagator the program registered
// (otel.SetTextMapPropagator), so that a task submitted inside a span runs in that span's
// trace: the server stores the context with the task and the workers continue it. [Dial]
// installs it; add it to a connection of your own (for [NewClient]) with
// grpc.WithChainUnaryInterceptor. Without a registered propagator (OpenTelemetry not
// configured) it sends nothing.
func TraceContextInterceptor() grpc.UnaryClientInterceptor {
	return injectTraceContext
}

func injectTraceContext(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	carrier := metadataCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if len(carrier) > 0 {
		pairs := make([]string, 0, 2*len(carrier))
		for k, v := range carrier {
			pairs = append(pairs, k, v)
		}
		ctx = metadata.AppendToOutgoingContext(ctx, pairs...)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

// metadataCarrier collects what a propagator injects.
type metadataCarrier map[string]string

var _ propagation.TextMapCarrier = metadataCarrier{}

func (c metadataCarrier) Get(key string) string { return c[key] }
func (c metadataCarrier) Set(key, value string) { c[key] = value }
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
