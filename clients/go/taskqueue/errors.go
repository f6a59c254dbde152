package taskqueue

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Sentinel errors, one per gRPC status the server answers with. Test with [errors.Is]:
//
//	if errors.Is(err, taskqueue.ErrNotFound) { ... }
var (
	// ErrInvalidArgument: a request field is missing or malformed (the message names it).
	ErrInvalidArgument = errors.New("taskqueue: invalid argument")
	// ErrNotFound: no task has the given id.
	ErrNotFound = errors.New("taskqueue: not found")
	// ErrFailedPrecondition: the operation does not apply to the task's state, e.g.
	// cancelling a finished task; on a worker stream, a message out of protocol order.
	ErrFailedPrecondition = errors.New("taskqueue: failed precondition")
	// ErrResourceExhausted: a payload or result is over the server's size limit.
	ErrResourceExhausted = errors.New("taskqueue: resource exhausted")
	// ErrUnavailable: the server or one of its stores is unreachable, or it is draining.
	ErrUnavailable = errors.New("taskqueue: unavailable")
	// ErrAlreadyExists: the entity exists already.
	ErrAlreadyExists = errors.New("taskqueue: already exists")
	// ErrInternal: an unexpected server error.
	ErrInternal = errors.New("taskqueue: internal error")
)

var sentinelByCode = map[codes.Code]error{
	codes.InvalidArgument:    ErrInvalidArgument,
	codes.NotFound:           ErrNotFound,
	codes.FailedPrecondition: ErrFailedPrecondition,
	codes.ResourceExhausted:  ErrResourceExhausted,
	codes.Unavailable:        ErrUnavailable,
	codes.AlreadyExists:      ErrAlreadyExists,
	codes.Internal:           ErrInternal,
}

// Error is a failed call to the server (or a refused item of a batch submit).
// It matches the sentinel of its code with [errors.Is], and [context.DeadlineExceeded] or
// [context.Canceled] when the call ran out of time or was cancelled.
type Error struct {
	// Op is the operation, e.g. "SubmitTask".
	Op string
	// Code is the gRPC status code.
	Code codes.Code
	// Message is the server's explanation; for bad input it starts with the field.
	Message string
	// Field is the offending field when the server named it (batch items), else "".
	Field string
	cause error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("taskqueue: %s: %s: %s", e.Op, e.Code, e.Message)
}

// Unwrap returns the underlying gRPC status error, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel of e's code (or the matching context error).
func (e *Error) Is(target error) bool {
	if sentinel, ok := sentinelByCode[e.Code]; ok && target == sentinel {
		return true
	}
	switch e.Code {
	case codes.DeadlineExceeded:
		return target == context.DeadlineExceeded
	case codes.Canceled:
		return target == context.Canceled
	}
	return false
}

// GRPCStatus returns the error as a gRPC status (so status.FromError works on it).
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Message) }

// wrapCallError turns an error returned by a generated stub into an *Error.
func wrapCallError(op string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Op: op, Code: codes.Unknown, Message: err.Error(), cause: err}
	}
	return &Error{Op: op, Code: st.Code(), Message: st.Message(), cause: err}
}

// NonRetryableError marks a handler failure that retrying cannot help (bad input, a
// missing record): the attempt is reported with non_retryable set and the server moves
// the task to DEAD at once. Create one with [NonRetryable].
type NonRetryableError struct {
	// Err is the failure.
	Err error
	// Type is reported as the failure's type; default "NonRetryableError".
	Type string
}

// NonRetryable wraps err so that a handler returning it fails the task for good.
// errType, when not empty, is reported as the failure's type.
func NonRetryable(err error, errType ...string) error {
	if err == nil {
		err = errors.New("non-retryable failure")
	}
	e := &NonRetryableError{Err: err, Type: "NonRetryableError"}
	if len(errType) > 0 && errType[0] != "" {
		e.Type = errType[0]
	}
	return e
}

// Error implements error.
func (e *NonRetryableError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped failure.
func (e *NonRetryableError) Unwrap() error { return e.Err }

// TypedError lets a handler's error choose the failure type reported to the server
// (default: the Go type name of the error, e.g. "*errors.errorString" becomes "Error").
type TypedError interface {
	error
	// ErrorType is reported as the failure's type, e.g. "TimeoutError".
	ErrorType() string
}

// Errors the worker uses as the cause of a task context's cancellation; read it with
// [context.Cause] inside a handler.
var (
	// ErrTaskCancelled: the server cancelled the task (CancelTask). The attempt ends CANCELLED.
	ErrTaskCancelled = errors.New("taskqueue: task cancelled")
	// ErrTaskTimeout: the task's execution timeout elapsed. Reported as a retryable failure.
	ErrTaskTimeout = errors.New("taskqueue: task timed out")
	// ErrConnectionLost: the stream dropped; the lease is gone and the result is discarded.
	ErrConnectionLost = errors.New("taskqueue: connection lost")
	// ErrWorkerStopping: a graceful stop ran out of time while the task was running.
	ErrWorkerStopping = errors.New("taskqueue: worker stopping")
	// ErrUnknownTaskType: the worker has no handler for the task's type.
	ErrUnknownTaskType = errors.New("taskqueue: no handler for task type")
	// ErrProtocol: the server broke the worker protocol (e.g. no welcome first).
	ErrProtocol = errors.New("taskqueue: protocol violation")
	// ErrDeafServer: the server said nothing for several heartbeat intervals.
	ErrDeafServer = errors.New("taskqueue: server silent")
)

// OptionsError reports an invalid option; Field names it.
type OptionsError struct {
	// Field is the option at fault, e.g. "Concurrency".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error implements error.
func (e *OptionsError) Error() string {
	return fmt.Sprintf("taskqueue: option %s: %s", e.Field, e.Problem)
}
