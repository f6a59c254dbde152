package taskqueue

import "time"

// Hooks observe a worker. Every hook is optional and is called from the worker's own
// goroutines: keep them quick and do not block.
type Hooks struct {
	// OnConnected: a session was welcomed.
	OnConnected func(SessionInfo)
	// OnDisconnected: a session ended; err says why (nil for a clean end).
	OnDisconnected func(reason string, err error)
	// OnTaskStarted: a leased task's handler is about to run.
	OnTaskStarted func(*LeasedTask)
	// OnTaskFinished: a task's outcome is decided (its result is about to be sent), or the
	// task was lost with its stream.
	OnTaskFinished func(*LeasedTask, TaskOutcome)
	// OnAck: the server answered a result.
	OnAck func(Ack)
	// OnDrain: the server announced it is shutting down.
	OnDrain func(deadline time.Time, reason string)
}

// SessionInfo describes a welcomed session.
type SessionInfo struct {
	SessionID         string
	ServerID          string
	LeaseDuration     time.Duration
	HeartbeatInterval time.Duration
}

// OutcomeKind says how an attempt ended on the worker.
type OutcomeKind string

// Outcome kinds.
const (
	OutcomeSucceeded OutcomeKind = "succeeded"
	OutcomeFailed    OutcomeKind = "failed"
	OutcomeCancelled OutcomeKind = "cancelled"
	OutcomeTimedOut  OutcomeKind = "timed_out"
	// OutcomeLost: the stream went away first; no result is sent, the server requeues.
	OutcomeLost OutcomeKind = "lost"
)

// TaskOutcome is how a task's attempt ended.
type TaskOutcome struct {
	Kind OutcomeKind
	// Err is the failure, for every kind but succeeded.
	Err      error
	Duration time.Duration
}

// AckStatus is the server's verdict on a result.
type AckStatus string

// Ack statuses.
const (
	// AckAccepted: recorded durably.
	AckAccepted AckStatus = "accepted"
	// AckStale: the lease was no longer current; nothing changed.
	AckStale AckStatus = "stale"
	// AckRejected: the result was invalid (see the message); nothing changed.
	AckRejected AckStatus = "rejected"
)

// Ack answers one result.
type Ack struct {
	TaskID     string
	LeaseToken string
	Status     AckStatus
	Message    string
}
