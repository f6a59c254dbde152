package taskqueue

import (
	"errors"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
)

// successResult encodes a handler's return value; it fails for values that are not JSON.
func successResult(t *LeasedTask, value any) (*taskqueuev1.TaskResult, error) {
	success := &taskqueuev1.TaskSuccess{}
	if b, ok := value.([]byte); ok {
		success.ResultData = &taskqueuev1.TaskSuccess_ResultBytes{ResultBytes: b}
	} else {
		v, err := jsonValue(value)
		if err != nil {
			return nil, NonRetryable(errors.New("result is "+err.Error()), "ResultEncodingError")
		}
		success.ResultData = &taskqueuev1.TaskSuccess_Result{Result: v}
	}
	return &taskqueuev1.TaskResult{
		TaskId:     t.ID,
		LeaseToken: t.LeaseToken,
		Outcome:    &taskqueuev1.TaskResult_Success{Success: success},
	}, nil
}

// failureResult describes err as a failed attempt.
func failureResult(t *LeasedTask, err error) *taskqueuev1.TaskResult {
	return &taskqueuev1.TaskResult{
		TaskId:     t.ID,
		LeaseToken: t.LeaseToken,
		Outcome:    &taskqueuev1.TaskResult_Failure{Failure: failureOf(err)},
	}
}

// The server keeps this much of a failure's message and type; more is not sent.
const (
	failureMessageChars = 4096
	failureTypeChars    = 128
)

// failureOf maps an error to the wire failure: NonRetryableError sets non_retryable and its
// type; a TypedError chooses its type; the worker's own causes have fixed types. Message and
// type are cut to what the server keeps.
func failureOf(err error) *taskqueuev1.TaskFailure {
	failure := failureTypeOf(err)
	failure.Message = truncateRunes(failure.GetMessage(), failureMessageChars)
	failure.Type = truncateRunes(failure.GetType(), failureTypeChars)
	return failure
}

// truncateRunes keeps at most n characters of s.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for at := range s {
		if i == n {
			return s[:at]
		}
		i++
	}
	return s
}

func failureTypeOf(err error) *taskqueuev1.TaskFailure {
	failure := &taskqueuev1.TaskFailure{Message: err.Error(), Type: "Error"}
	var nonRetryable *NonRetryableError
	var typed TypedError
	switch {
	case errors.As(err, &nonRetryable):
		failure.NonRetryable = true
		failure.Type = nonRetryable.Type
	case errors.As(err, &typed):
		failure.Type = typed.ErrorType()
	case errors.Is(err, ErrTaskTimeout):
		failure.Type = "TimeoutError"
	case errors.Is(err, ErrTaskCancelled):
		failure.Type = "CancelledError"
	case errors.Is(err, ErrUnknownTaskType):
		failure.Type = "UnknownTaskTypeError"
	}
	return failure
}
