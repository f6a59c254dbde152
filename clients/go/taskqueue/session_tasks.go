package taskqueue

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
)

// runningTask is one leased attempt held by a session. decided is set once its outcome is
// known (from the handler, a cancel, the timeout) or it was dropped; only the session's
// goroutine touches it.
type runningTask struct {
	task    *LeasedTask
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	started time.Time
	decided bool
}

func (s *session) heldIDs() []string {
	ids := make([]string, 0, len(s.held))
	for id := range s.held {
		ids = append(ids, id)
	}
	return ids
}

// onAssignment starts the handlers of newly leased tasks; each task consumes one credit.
func (s *session) onAssignment(tasks []*taskqueuev1.LeasedTask) {
	if len(tasks) > s.credit {
		s.log.Error("protocol violation: more tasks than credits", "tasks", len(tasks), "credits", s.credit)
	}
	s.credit = max(0, s.credit-len(tasks))
	for _, leased := range tasks {
		task := leasedTaskFromProto(leased)
		if s.closing {
			// The stream is half-closed: no result could be sent; let the lease lapse.
			s.finished(task, TaskOutcome{Kind: OutcomeLost, Err: ErrConnectionLost})
			continue
		}
		r := &runningTask{task: task, started: time.Now(), cancel: func(error) {}}
		s.held[task.ID] = r
		s.w.slots.acquire()
		if h := s.opts.Hooks.OnTaskStarted; h != nil {
			h(task)
		}
		// The attempt's span (for a traced task) covers an unknown type's failure too.
		spanCtx, span := startAttemptSpan(s.w.base, task)
		task.span = span
		handler := s.opts.Handlers[task.Type]
		if handler == nil {
			err := fmt.Errorf("%w %q", ErrUnknownTaskType, task.Type)
			s.decide(r, OutcomeFailed, failureResult(task, err), err)
			s.w.slots.release()
			continue
		}
		ctx, cancel := context.WithCancelCause(spanCtx)
		r.cancel = cancel
		task.progress = &progressThrottle{
			interval: s.opts.ProgressInterval,
			send: func(percent float32, message string) {
				s.post(func() {
					if !r.decided {
						s.out.push(progressRequest(task, percent, message))
					}
				})
			},
		}
		if task.Timeout > 0 {
			r.timer = s.after(task.Timeout, func() { s.expire(r) })
		}
		go s.runHandler(ctx, r, handler)
	}
}

// runHandler runs on its own goroutine and hands the outcome to the session; if the
// session has ended meanwhile, it frees its slot itself.
func (s *session) runHandler(ctx context.Context, r *runningTask, handler Handler) {
	value, err := callHandler(ctx, handler, r.task)
	if !s.post(func() { s.onHandlerDone(r, value, err) }) {
		s.w.slots.release()
	}
	r.cancel(context.Canceled)
}

// callHandler runs a handler, turning a panic into an error.
func callHandler(ctx context.Context, handler Handler, task *LeasedTask) (value any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return handler(ctx, task)
}

func (s *session) onHandlerDone(r *runningTask, value any, err error) {
	s.w.slots.release()
	if r.decided {
		return
	}
	if err != nil {
		s.decide(r, OutcomeFailed, failureResult(r.task, err), err)
		return
	}
	result, encodeErr := successResult(r.task, value)
	if encodeErr != nil {
		s.decide(r, OutcomeFailed, failureResult(r.task, encodeErr), encodeErr)
		return
	}
	s.decide(r, OutcomeSucceeded, result, nil)
}

// cancelTask aborts the handler of a task the server cancelled and reports it.
func (s *session) cancelTask(r *runningTask, reason string) {
	if r.decided {
		return
	}
	cause := fmt.Errorf("%w: %s", ErrTaskCancelled, reason)
	r.cancel(cause)
	s.decide(r, OutcomeCancelled, failureResult(r.task, cause), cause)
}

// expire aborts a handler whose execution timeout elapsed and reports a retryable failure.
func (s *session) expire(r *runningTask) {
	if r.decided {
		return
	}
	cause := fmt.Errorf("%w after %s", ErrTaskTimeout, r.task.Timeout)
	r.cancel(cause)
	s.decide(r, OutcomeTimedOut, failureResult(r.task, cause), cause)
}

// decide records an attempt's outcome: its result goes out with the next flush.
func (s *session) decide(r *runningTask, kind OutcomeKind, result *taskqueuev1.TaskResult, err error) {
	r.decided = true
	if r.timer != nil {
		r.timer.Stop()
	}
	delete(s.held, r.task.ID)
	s.pending = append(s.pending, result)
	s.finished(r.task, TaskOutcome{Kind: kind, Err: err, Duration: time.Since(r.started)})
}

// drop abandons a task whose lease is gone: its handler is cancelled, no result is sent.
func (s *session) drop(r *runningTask, cause error) {
	if r.decided {
		return
	}
	r.decided = true
	if r.timer != nil {
		r.timer.Stop()
	}
	r.cancel(cause)
	s.finished(r.task, TaskOutcome{Kind: OutcomeLost, Err: cause, Duration: time.Since(r.started)})
}

func (s *session) finished(task *LeasedTask, outcome TaskOutcome) {
	if outcome.Kind != OutcomeSucceeded {
		attrs := []any{"task_id", task.ID, "type", task.Type, "attempt", task.Attempt, "outcome", outcome.Kind, "error", outcome.Err}
		if task.span != nil && task.span.SpanContext().IsValid() {
			// The attempt's span, to find the line from its trace and the trace from the line.
			attrs = append(attrs, "trace_id", task.span.SpanContext().TraceID().String(), "span_id", task.span.SpanContext().SpanID().String())
		}
		s.log.Debug("task did not succeed", attrs...)
	}
	if h := s.opts.Hooks.OnTaskFinished; h != nil {
		h(task, outcome)
	}
	endAttemptSpan(task.span, outcome)
}
