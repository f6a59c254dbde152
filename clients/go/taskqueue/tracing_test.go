package taskqueue

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// recordSpans registers a tracer provider recording into the returned recorder, and the W3C
// propagator, for the test's duration.
func recordSpans(t *testing.T) (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	otel.SetTracerProvider(provider)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	return recorder, provider
}

func attrs(span sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		out[kv.Key] = kv.Value
	}
	return out
}

// serveReporting runs a worker with an "echo" handler and a "bad" one (failing for good), both
// reporting the span context of their ctx on the returned channel; it returns the welcomed
// stream.
func serveReporting(t *testing.T) (*scriptedStream, <-chan trace.SpanContext) {
	t.Helper()
	addr, server := startScripted(t)
	inHandler := make(chan trace.SpanContext, 3)
	report := func(err error) Handler {
		return func(ctx context.Context, _ *LeasedTask) (any, error) {
			inHandler <- trace.SpanContextFromContext(ctx)
			return nil, err
		}
	}
	stop := runWorker(t, addr, 3, map[string]Handler{"echo": report(nil), "bad": report(NonRetryable(errors.New("bad input")))})
	t.Cleanup(stop)
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	return ss, inHandler
}

func TestAttemptsRunInSpansContinuingTheTasksTrace(t *testing.T) {
	recorder, _ := recordSpans(t)
	ss, inHandler := serveReporting(t)
	const traceID, parentID = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	traced := leased("a", "echo")
	traced.Traceparent = "00-" + traceID + "-" + parentID + "-01"
	traced.Tracestate = "k=v"
	fatal := leased("b", "bad")
	fatal.Traceparent = traced.Traceparent
	fatal.Attempt = 2
	unknown := leased("c", "nope")
	unknown.Traceparent = traced.Traceparent
	ss.assign(t, traced, fatal, unknown)
	for range 2 {
		if sc := within(t, inHandler, "a handler"); sc.TraceID().String() != traceID {
			t.Fatalf("handler's span context = %v, want trace %s", sc, traceID)
		}
	}
	ended := map[string]sdktrace.ReadOnlySpan{}
	deadline := time.Now().Add(5 * time.Second)
	for len(ended) < 3 && time.Now().Before(deadline) {
		for _, s := range recorder.Ended() {
			ended[attrs(s)["taskqueue.task.id"].AsString()] = s
		}
		time.Sleep(10 * time.Millisecond)
	}
	a, b := ended["a"], ended["b"]
	c := ended["c"]
	if a == nil || b == nil || c == nil {
		t.Fatalf("ended spans = %v", ended)
	}
	if a.Name() != "run echo" || a.SpanKind() != trace.SpanKindConsumer || a.Parent().SpanID().String() != parentID || a.SpanContext().TraceID().String() != traceID {
		t.Fatalf("span a = %s kind %v parent %v", a.Name(), a.SpanKind(), a.Parent())
	}
	if a.Parent().TraceState().Get("k") != "v" {
		t.Fatalf("tracestate lost: %v", a.Parent().TraceState())
	}
	got := attrs(a)
	if got["taskqueue.queue"].AsString() != "q" || got["taskqueue.task.type"].AsString() != "echo" || got["taskqueue.attempt"].AsInt64() != 1 || got["taskqueue.outcome"].AsString() != "succeeded" || a.Status().Code != codes.Unset {
		t.Fatalf("span a attributes = %v status %v", got, a.Status())
	}
	got = attrs(b)
	if got["taskqueue.outcome"].AsString() != "fatal" || got["taskqueue.attempt"].AsInt64() != 2 || b.Status().Code != codes.Error || len(b.Events()) != 1 {
		t.Fatalf("span b attributes = %v status %v events %v", got, b.Status(), b.Events())
	}
	// A type without a handler fails inside its span too.
	if got = attrs(c); c.Name() != "run nope" || got["taskqueue.outcome"].AsString() != "failed" || c.Status().Code != codes.Error {
		t.Fatalf("span c = %s attributes %v status %v", c.Name(), got, c.Status())
	}
}

func TestUntracedTasksGetNoSpan(t *testing.T) {
	recorder, _ := recordSpans(t)
	ss, inHandler := serveReporting(t)
	ss.assign(t, leased("a", "echo"))
	if sc := within(t, inHandler, "the handler"); sc.IsValid() {
		t.Fatalf("an untraced task's handler has span context %v", sc)
	}
	ss.next(t, "the result")
	if n := len(recorder.Started()); n != 0 {
		t.Fatalf("%d spans started for an untraced task", n)
	}
}

// capturing is a TaskService that records the metadata of SubmitTask calls.
type capturing struct {
	taskqueuev1.UnimplementedTaskServiceServer
	seen chan metadata.MD
}

func (c *capturing) SubmitTask(ctx context.Context, _ *taskqueuev1.SubmitTaskRequest) (*taskqueuev1.SubmitTaskResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c.seen <- md
	return &taskqueuev1.SubmitTaskResponse{Task: &taskqueuev1.Task{Id: "t1"}}, nil
}

func TestSubmitCarriesTheActiveTraceContext(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	service := &capturing{seen: make(chan metadata.MD, 2)}
	taskqueuev1.RegisterTaskServiceServer(srv, service)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	client, err := Dial(lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	spec := TaskSpec{Queue: "q", Type: "echo"}

	// Without OpenTelemetry configured nothing is sent.
	if _, err := client.Submit(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if md := within(t, service.seen, "the untraced call"); len(md.Get("traceparent")) != 0 {
		t.Fatalf("untraced call sent traceparent %v", md.Get("traceparent"))
	}

	_, provider := recordSpans(t)
	ctx, span := provider.Tracer("test").Start(context.Background(), "produce")
	defer span.End()
	if _, err := client.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if got := within(t, service.seen, "the traced call").Get("traceparent"); len(got) != 1 || got[0] != want {
		t.Fatalf("traceparent = %v, want %s", got, want)
	}
}
