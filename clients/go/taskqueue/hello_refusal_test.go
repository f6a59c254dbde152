package taskqueue

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func echoHandlers() map[string]Handler {
	return map[string]Handler{"echo": func(context.Context, *LeasedTask) (any, error) { return nil, nil }}
}

// startRun runs a worker against addr and returns the channel Run's result arrives on.
func startRun(t *testing.T, addr string) (<-chan error, context.CancelFunc) {
	t.Helper()
	w, err := NewWorker(WorkerOptions{
		Target: addr, Queues: []string{"q"}, Handlers: echoHandlers(),
		ReconnectInitialDelay: 10 * time.Millisecond, ReconnectMaxDelay: 20 * time.Millisecond, ShutdownTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(cancel)
	return done, cancel
}

func TestRefusedHelloEndsRunWithTheServersError(t *testing.T) {
	for _, tc := range []struct {
		code     codes.Code
		sentinel error
		message  string
	}{
		{codes.InvalidArgument, ErrInvalidArgument, "hello.capacity: must be between 1 and 5, got 10"},
		{codes.FailedPrecondition, ErrFailedPrecondition, "hello.worker_id: refused"},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			addr, server := startScripted(t)
			done, _ := startRun(t, addr)
			first := within(t, server.streams, "a stream")
			if first.next(t, "hello").GetHello() == nil {
				t.Fatal("first request is not the hello")
			}
			first.fail <- status.Error(tc.code, tc.message)
			err := within(t, done, "Run to return")
			var callErr *Error
			if !errors.Is(err, tc.sentinel) || !errors.As(err, &callErr) || callErr.Message != tc.message {
				t.Fatalf("Run = %v", err)
			}
			// Run has returned and closed its connection: no second stream was opened.
			if n := len(server.streams); n != 0 {
				t.Fatalf("%d more streams opened after the refusal", n)
			}
		})
	}
}

func TestRefusedReconnectEndsRun(t *testing.T) {
	addr, server := startScripted(t)
	done, _ := startRun(t, addr)
	first := within(t, server.streams, "a stream")
	first.welcome(t, time.Second)
	close(first.finish)
	second := within(t, server.streams, "a second stream")
	second.next(t, "hello")
	second.fail <- status.Error(codes.InvalidArgument, `hello.queues[0]: "q" refused`)
	if err := within(t, done, "Run to return"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Run = %v", err)
	}
}

func TestUnavailableHelloIsRetried(t *testing.T) {
	addr, server := startScripted(t)
	done, cancel := startRun(t, addr)
	first := within(t, server.streams, "a stream")
	first.next(t, "hello")
	first.fail <- status.Error(codes.Unavailable, "draining")
	second := within(t, server.streams, "a second stream")
	second.welcome(t, time.Second)
	cancel()
	if err := within(t, done, "Run to return"); err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestQueueNamesFollowTheServersRule(t *testing.T) {
	for _, bad := range []string{"my queue", "", strings.Repeat("a", 129), "q/1", "é"} {
		_, err := NewWorker(WorkerOptions{Target: "x:1", Queues: []string{"ok", bad}, Handlers: echoHandlers()})
		var optErr *OptionsError
		if !errors.As(err, &optErr) || optErr.Field != "Queues[1]" {
			t.Fatalf("NewWorker with queue %q: %v", bad, err)
		}
		if bad == "my queue" && err.Error() != `taskqueue: option Queues[1]: "my queue" must be 1-128 characters of letters, digits and . _ : -` {
			t.Fatalf("message: %v", err)
		}
	}
	if _, err := NewWorker(WorkerOptions{Target: "x:1", Queues: []string{"A.b_c:d-9", strings.Repeat("b", 128)}, Handlers: echoHandlers()}); err != nil {
		t.Fatalf("valid names refused: %v", err)
	}
}
