package taskqueue

import (
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TaskSpec describes a task to submit. Queue and Type are required; zero values of the
// other fields take the server's defaults.
type TaskSpec struct {
	// Queue name: 1-128 characters of [A-Za-z0-9._:-].
	Queue string
	// Type selects the worker handler: 1-128 characters of [A-Za-z0-9._:/-].
	Type string
	// Payload is the input as any JSON-marshalable value (a json.RawMessage is sent as is).
	// Leave nil to send PayloadBytes, or no payload at all.
	Payload any
	// PayloadBytes is the input as opaque bytes; used when Payload is nil.
	PayloadBytes []byte
	// Priority 0-100, higher first. 0 sends none: the task takes the queue's default
	// priority (UpdateQueue), else 0. To submit an explicit 0 on a queue with a default
	// priority, set SubmitTaskRequest.Priority (a pointer) on the generated request.
	Priority int
	// MaxAttempts is the total attempts allowed (1 means never retry); 0 takes the default.
	MaxAttempts int
	// InitialBackoff, MaxBackoff and BackoffMultiplier tune retries; zero takes the default.
	InitialBackoff    time.Duration
	MaxBackoff        time.Duration
	BackoffMultiplier float64
	// IdempotencyKey: a second submit with the same key in the same queue returns the
	// first task instead of creating another.
	IdempotencyKey string
	// ConcurrencyKey (e.g. a customer id, at most 256 bytes): tasks sharing a key share the
	// queue's max_concurrency_per_key, and the queue serves its keys round-robin.
	ConcurrencyKey string
	// Labels are free-form key/value pairs.
	Labels map[string]string
	// RunAt delays the task; zero means now.
	RunAt time.Time
	// Timeout bounds each attempt; zero means the server default.
	Timeout time.Duration
}

// toProto builds the request; only the payload can fail to encode.
func (s TaskSpec) toProto() (*taskqueuev1.SubmitTaskRequest, error) {
	req := &taskqueuev1.SubmitTaskRequest{
		Queue:          s.Queue,
		Type:           s.Type,
		IdempotencyKey: s.IdempotencyKey,
		ConcurrencyKey: s.ConcurrencyKey,
		Labels:         s.Labels,
	}
	if s.Priority != 0 {
		priority := int32(s.Priority)
		req.Priority = &priority
	}
	switch {
	case s.Payload != nil:
		value, err := jsonValue(s.Payload)
		if err != nil {
			return nil, &OptionsError{Field: "Payload", Problem: err.Error()}
		}
		req.PayloadData = &taskqueuev1.SubmitTaskRequest_Payload{Payload: value}
	case s.PayloadBytes != nil:
		req.PayloadData = &taskqueuev1.SubmitTaskRequest_PayloadBytes{PayloadBytes: s.PayloadBytes}
	}
	if s.MaxAttempts != 0 || s.InitialBackoff != 0 || s.MaxBackoff != 0 || s.BackoffMultiplier != 0 {
		policy := &taskqueuev1.RetryPolicy{MaxAttempts: int32(s.MaxAttempts), BackoffMultiplier: s.BackoffMultiplier}
		if s.InitialBackoff > 0 {
			policy.InitialBackoff = durationpb.New(s.InitialBackoff)
		}
		if s.MaxBackoff > 0 {
			policy.MaxBackoff = durationpb.New(s.MaxBackoff)
		}
		req.RetryPolicy = policy
	}
	if !s.RunAt.IsZero() {
		req.RunAt = timestamppb.New(s.RunAt)
	}
	if s.Timeout > 0 {
		req.Timeout = durationpb.New(s.Timeout)
	}
	return req, nil
}
