package taskqueue

import (
	"encoding/json"
	"strings"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// State is a task's state (see the proto's TaskState for who moves a task out of each).
type State = taskqueuev1.TaskState

// The task states.
const (
	StateScheduled = taskqueuev1.TaskState_TASK_STATE_SCHEDULED
	StateQueued    = taskqueuev1.TaskState_TASK_STATE_QUEUED
	StateRunning   = taskqueuev1.TaskState_TASK_STATE_RUNNING
	StateSucceeded = taskqueuev1.TaskState_TASK_STATE_SUCCEEDED
	StateFailed    = taskqueuev1.TaskState_TASK_STATE_FAILED
	StateDead      = taskqueuev1.TaskState_TASK_STATE_DEAD
	StateCancelled = taskqueuev1.TaskState_TASK_STATE_CANCELLED
)

// StateName is the short name of a state, e.g. "SUCCEEDED".
func StateName(s State) string {
	return strings.TrimPrefix(s.String(), "TASK_STATE_")
}

// ParseState reads a state name, short ("QUEUED") or full ("TASK_STATE_QUEUED"), in any
// case; an unknown name gives TASK_STATE_UNSPECIFIED (which matches every state in a filter).
func ParseState(name string) State {
	upper := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(upper, "TASK_STATE_") {
		upper = "TASK_STATE_" + upper
	}
	return State(taskqueuev1.TaskState_value[upper])
}

// IsTerminal reports whether a task in state s can never change again: SUCCEEDED, DEAD,
// CANCELLED, and any later terminal state the server adds (EXPIRED).
func IsTerminal(s State) bool {
	switch s {
	case StateSucceeded, StateDead, StateCancelled:
		return true
	}
	return s.String() == "TASK_STATE_EXPIRED"
}

// TaskError describes why an attempt failed.
type TaskError struct {
	// Message is the worker's (or the server's, for a lost lease) explanation.
	Message string `json:"message"`
	// Type is the error class or code, e.g. "TimeoutError".
	Type string `json:"type,omitempty"`
	// NonRetryable is true when the worker said retrying cannot help.
	NonRetryable bool `json:"non_retryable,omitempty"`
	// Attempt is the attempt that failed.
	Attempt int `json:"attempt,omitempty"`
}

// Task is a task as the server reports it.
type Task struct {
	ID             string            `json:"id"`
	Queue          string            `json:"queue"`
	Type           string            `json:"type"`
	State          State             `json:"-"`
	Priority       int               `json:"priority,omitempty"`
	Attempt        int               `json:"attempt"`
	MaxAttempts    int               `json:"max_attempts"`
	Payload        json.RawMessage   `json:"payload,omitempty"`
	PayloadBytes   []byte            `json:"payload_bytes,omitempty"`
	Result         json.RawMessage   `json:"result,omitempty"`
	ResultBytes    []byte            `json:"result_bytes,omitempty"`
	LastError      *TaskError        `json:"last_error,omitempty"`
	IdempotencyKey string            `json:"idempotency_key,omitempty"`
	ConcurrencyKey string            `json:"concurrency_key,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	WorkerID       string            `json:"worker_id,omitempty"`
	CancelReason   string            `json:"cancel_reason,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	ScheduledAt    time.Time         `json:"scheduled_at,omitzero"`
	StartedAt      time.Time         `json:"started_at,omitzero"`
	FinishedAt     time.Time         `json:"finished_at,omitzero"`
	// Proto is the message the task was read from, for fields not mirrored here.
	Proto *taskqueuev1.Task `json:"-"`
}

// MarshalJSON encodes the task with its state as a short name ("state": "SUCCEEDED").
func (t *Task) MarshalJSON() ([]byte, error) {
	type plain Task
	return json.Marshal(struct {
		*plain
		State string `json:"state"`
	}{(*plain)(t), StateName(t.State)})
}

// DecodeResult unmarshals the task's JSON result into v.
func (t *Task) DecodeResult(v any) error { return json.Unmarshal(t.Result, v) }

// Attempt is one dispatch of a task to a worker.
type Attempt struct {
	Number     int       `json:"attempt"`
	WorkerID   string    `json:"worker_id,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
	// Outcome is how it ended, e.g. "SUCCEEDED", "FAILED", "LEASE_EXPIRED", "WORKER_LOST",
	// "CANCELLED"; "" while it runs.
	Outcome string     `json:"outcome,omitempty"`
	Error   *TaskError `json:"error,omitempty"`
}

func taskFromProto(p *taskqueuev1.Task) *Task {
	if p == nil {
		return nil
	}
	return &Task{
		ID:             p.GetId(),
		Queue:          p.GetQueue(),
		Type:           p.GetType(),
		State:          p.GetState(),
		Priority:       int(p.GetPriority()),
		Attempt:        int(p.GetAttempt()),
		MaxAttempts:    int(p.GetMaxAttempts()),
		Payload:        rawJSON(p.GetPayload()),
		PayloadBytes:   p.GetPayloadBytes(),
		Result:         rawJSON(p.GetResult()),
		ResultBytes:    p.GetResultBytes(),
		LastError:      taskErrorFromProto(p.GetLastError()),
		IdempotencyKey: p.GetIdempotencyKey(),
		ConcurrencyKey: p.GetConcurrencyKey(),
		Labels:         p.GetLabels(),
		WorkerID:       p.GetWorkerId(),
		CancelReason:   p.GetCancelReason(),
		CreatedAt:      timeOf(p.GetCreatedAt()),
		ScheduledAt:    timeOf(p.GetScheduledAt()),
		StartedAt:      timeOf(p.GetStartedAt()),
		FinishedAt:     timeOf(p.GetFinishedAt()),
		Proto:          p,
	}
}

func taskErrorFromProto(p *taskqueuev1.TaskError) *TaskError {
	if p == nil {
		return nil
	}
	return &TaskError{Message: p.GetMessage(), Type: p.GetType(), NonRetryable: p.GetNonRetryable(), Attempt: int(p.GetAttempt())}
}

func attemptFromProto(p *taskqueuev1.TaskAttempt) Attempt {
	outcome := ""
	if p.GetOutcome() != taskqueuev1.AttemptOutcome_ATTEMPT_OUTCOME_UNSPECIFIED {
		outcome = strings.TrimPrefix(p.GetOutcome().String(), "ATTEMPT_OUTCOME_")
	}
	return Attempt{
		Number:     int(p.GetAttempt()),
		WorkerID:   p.GetWorkerId(),
		StartedAt:  timeOf(p.GetStartedAt()),
		FinishedAt: timeOf(p.GetFinishedAt()),
		Outcome:    outcome,
		Error:      taskErrorFromProto(p.GetError()),
	}
}

func timeOf(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}
