package taskqueue

import (
	"errors"

	"google.golang.org/grpc/codes"
)

// helloRefusal returns the server's error when end is a refused hello — the stream failed
// with INVALID_ARGUMENT or FAILED_PRECONDITION before any welcome (a bad queue name, a
// capacity above the server's MAX_WORKER_CAPACITY, a refused worker id, a rule of the
// server this SDK does not check) — else nil. Sending the same hello again cannot succeed,
// so the worker stops; every other end (UNAVAILABLE, a transport error, a stream the
// server ended, a silent server) is retried.
func helloRefusal(end sessionEnd) *Error {
	if end.welcomed || end.reason != endFailed {
		return nil
	}
	var callErr *Error
	if !errors.As(end.err, &callErr) {
		return nil
	}
	if callErr.Code != codes.InvalidArgument && callErr.Code != codes.FailedPrecondition {
		return nil
	}
	return callErr
}
