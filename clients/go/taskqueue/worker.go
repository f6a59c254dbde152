package taskqueue

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
)

// Worker serves tasks: it holds one WorkerService.Connect stream at a time, grants
// credits for its free slots, runs the leased tasks with their handlers and reports their
// results. Create it with [NewWorker] and serve with [Worker.Run].
type Worker struct {
	opts  WorkerOptions
	slots *slots
	base  context.Context

	mu      sync.Mutex
	running bool
}

// NewWorker validates opts (an *OptionsError names the first bad one) and creates a worker.
func NewWorker(opts WorkerOptions) (*Worker, error) {
	compiled, err := opts.compile()
	if err != nil {
		return nil, err
	}
	return &Worker{opts: compiled, slots: newSlots(compiled.Concurrency)}, nil
}

// ID is the worker identity announced in the hello.
func (w *Worker) ID() string { return w.opts.WorkerID }

// Running is the number of handlers running now.
func (w *Worker) Running() int { return w.slots.inUse() }

// Run serves until ctx is cancelled, reconnecting with exponential back-off and jitter
// whenever the stream ends; a server that stops talking is detected and dialled afresh.
// When ctx ends, Run stops gracefully: it tells the server, takes no more work, lets the
// running tasks finish and their results be acknowledged (bounded by ShutdownTimeout),
// cancels what is left, and returns nil. Handler contexts keep ctx's values but not its
// cancellation. A worker runs once at a time.
//
// When the server refuses the hello with INVALID_ARGUMENT or FAILED_PRECONDITION (e.g.
// "hello.capacity: must be between 1 and 1000, got 2000"), on the first stream or on a
// later reconnect, the same hello cannot succeed: Run stops retrying and returns that
// *Error (errors.Is matches ErrInvalidArgument or ErrFailedPrecondition), once handlers
// still running from an earlier stream have returned (bounded by ShutdownTimeout).
func (w *Worker) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.running {
		w.mu.Unlock()
		return errors.New("taskqueue: worker is already running")
	}
	w.running = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.running = false
		w.mu.Unlock()
	}()

	w.base = context.WithoutCancel(ctx)
	var stopAt time.Time
	stopDeadline := func() time.Time {
		if stopAt.IsZero() {
			stopAt = time.Now().Add(w.opts.ShutdownTimeout)
		}
		return stopAt
	}
	conn, err := w.dial()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	back := newBackoff(w.opts.ReconnectInitialDelay, w.opts.ReconnectMaxDelay)
	for ctx.Err() == nil {
		end := newSession(w).run(conn, ctx.Done(), stopDeadline)
		w.reportEnd(end)
		if refusal := helloRefusal(end); refusal != nil && ctx.Err() == nil {
			w.opts.Logger.Error("server refused the hello: worker stopped", "error", refusal)
			w.waitIdle(stopDeadline())
			return refusal
		}
		if end.welcomed {
			back.reset()
		}
		if ctx.Err() != nil {
			break
		}
		if end.reason == endDeaf {
			// The connection may be dead without the transport knowing: dial afresh.
			_ = conn.Close()
			if conn, err = w.dial(); err != nil {
				return err
			}
		}
		delay := back.next()
		w.opts.Logger.Info("reconnecting", "delay", delay)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	w.waitIdle(stopDeadline())
	return nil
}

func (w *Worker) dial() (*grpc.ClientConn, error) {
	params := grpc.ConnectParams{
		Backoff: grpcbackoff.Config{
			BaseDelay:  w.opts.ReconnectInitialDelay,
			Multiplier: 2,
			Jitter:     0.2,
			MaxDelay:   w.opts.ReconnectMaxDelay,
		},
		MinConnectTimeout: 5 * time.Second,
	}
	opts := append([]grpc.DialOption{grpc.WithConnectParams(params)}, w.opts.DialOptions...)
	return dial(w.opts.Target, opts)
}

func (w *Worker) reportEnd(end sessionEnd) {
	log := w.opts.Logger
	if end.reason == endStopped || end.reason == endDrained || end.reason == endEnded {
		log.Info("worker session ended", "reason", end.reason, "error", end.err, "lost_tasks", end.lost)
	} else {
		log.Warn("worker session ended", "reason", end.reason, "error", end.err, "lost_tasks", end.lost)
	}
	if h := w.opts.Hooks.OnDisconnected; h != nil {
		h(end.reason, end.err)
	}
}

// waitIdle waits until no handler runs, or until deadline.
func (w *Worker) waitIdle(deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for w.slots.inUse() > 0 {
		select {
		case <-w.slots.changed:
		case <-timer.C:
			return
		}
	}
}
