package taskqueue

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"go.opentelemetry.io/otel/trace"
)

// Handler runs one attempt of a task and returns its result: any JSON-marshalable value
// (a json.RawMessage is sent as is, nil as JSON null) or a []byte, sent as opaque bytes.
// A returned error fails the attempt (retried per the task's policy); wrap it with
// [NonRetryable] to dead-letter the task at once.
//
// ctx is cancelled when the attempt must stop; [context.Cause] tells why:
// [ErrTaskCancelled], [ErrTaskTimeout], [ErrConnectionLost] or [ErrWorkerStopping].
// Whatever the handler returns afterwards is ignored.
type Handler func(ctx context.Context, task *LeasedTask) (any, error)

// LeasedTask is one attempt of a task leased to this worker, as its handler sees it.
type LeasedTask struct {
	ID          string
	Queue       string
	Type        string
	Attempt     int
	MaxAttempts int
	// LeaseToken fences this attempt's result; the worker sends it back for you.
	LeaseToken string
	// Payload is the JSON input (nil when the task carries bytes or nothing).
	Payload json.RawMessage
	// PayloadBytes is the opaque input, when the producer sent bytes.
	PayloadBytes []byte
	Labels       map[string]string
	CreatedAt    time.Time
	// Timeout is the attempt's execution timeout; 0 means none.
	Timeout time.Duration

	progress *progressThrottle
	// traceparent and tracestate: the trace context the task was submitted with ("" for none).
	traceparent, tracestate string
	// span is the attempt's span, nil for an untraced task.
	span trace.Span
}

// Decode unmarshals the JSON payload into v.
func (t *LeasedTask) Decode(v any) error {
	if t.Payload == nil {
		return json.Unmarshal([]byte("null"), v)
	}
	return json.Unmarshal(t.Payload, v)
}

// Progress reports how far the task is (0-100) with a status line. Reports closer together
// than the worker's ProgressInterval are dropped, except 100%.
func (t *LeasedTask) Progress(percent float32, message string) {
	if t.progress != nil {
		t.progress.report(percent, message)
	}
}

func leasedTaskFromProto(p *taskqueuev1.LeasedTask) *LeasedTask {
	t := &LeasedTask{
		ID:           p.GetTaskId(),
		Queue:        p.GetQueue(),
		Type:         p.GetType(),
		Attempt:      int(p.GetAttempt()),
		MaxAttempts:  int(p.GetMaxAttempts()),
		LeaseToken:   p.GetLeaseToken(),
		Payload:      rawJSON(p.GetPayload()),
		PayloadBytes: p.GetPayloadBytes(),
		Labels:       p.GetLabels(),
		CreatedAt:    timeOf(p.GetCreatedAt()),
		traceparent:  p.GetTraceparent(),
		tracestate:   p.GetTracestate(),
	}
	if d := p.GetTimeout(); d != nil {
		t.Timeout = d.AsDuration()
	}
	return t
}

// progressThrottle forwards at most one progress report per interval.
type progressThrottle struct {
	interval time.Duration
	send     func(percent float32, message string)
	mu       sync.Mutex
	last     time.Time
}

func (p *progressThrottle) report(percent float32, message string) {
	p.mu.Lock()
	now := time.Now()
	if percent < 100 && !p.last.IsZero() && now.Sub(p.last) < p.interval {
		p.mu.Unlock()
		return
	}
	p.last = now
	p.mu.Unlock()
	p.send(percent, message)
}
