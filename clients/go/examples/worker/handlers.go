package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/taskqueue/taskqueue/clients/go/taskqueue"
)

// handlers are the example task types: echo, sleep and fail.
func handlers(events *eventPrinter) map[string]taskqueue.Handler {
	return map[string]taskqueue.Handler{
		"echo":  echo,
		"sleep": func(ctx context.Context, t *taskqueue.LeasedTask) (any, error) { return sleep(ctx, t, events) },
		"fail":  fail,
	}
}

// echo returns its payload unchanged (JSON or bytes).
func echo(_ context.Context, t *taskqueue.LeasedTask) (any, error) {
	if t.PayloadBytes != nil {
		return t.PayloadBytes, nil
	}
	return t.Payload, nil
}

// sleep waits payload.ms milliseconds, or until the task is cancelled, times out or is
// lost, and returns {"slept": ms}.
func sleep(ctx context.Context, t *taskqueue.LeasedTask, events *eventPrinter) (any, error) {
	var p struct {
		Ms *float64 `json:"ms"`
	}
	if err := t.Decode(&p); err != nil || p.Ms == nil || *p.Ms < 0 {
		return nil, taskqueue.NonRetryable(errors.New("payload.ms must be a non-negative number"), "InvalidPayload")
	}
	timer := time.NewTimer(time.Duration(*p.Ms * float64(time.Millisecond)))
	defer timer.Stop()
	select {
	case <-timer.C:
		return map[string]any{"slept": *p.Ms}, nil
	case <-ctx.Done():
		cause := context.Cause(ctx)
		events.print("handler_aborted", map[string]any{"task_id": t.ID, "type": t.Type, "attempt": t.Attempt, "cause": cause.Error()})
		return nil, cause
	}
}

// fail fails attempts 1..payload.times (for good when payload.retryable is false) and
// returns {"attempt": n} afterwards.
func fail(_ context.Context, t *taskqueue.LeasedTask) (any, error) {
	var p struct {
		Times     *int  `json:"times"`
		Retryable *bool `json:"retryable"`
	}
	if err := t.Decode(&p); err != nil || p.Times == nil || *p.Times < 0 {
		return nil, taskqueue.NonRetryable(errors.New("payload.times must be a non-negative integer"), "InvalidPayload")
	}
	if t.Attempt <= *p.Times {
		err := fmt.Errorf("failing attempt %d of %d on purpose", t.Attempt, *p.Times)
		if p.Retryable != nil && !*p.Retryable {
			return nil, taskqueue.NonRetryable(err, "PlannedFailure")
		}
		return nil, err
	}
	return map[string]any{"attempt": t.Attempt}, nil
}
