package taskqueue

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultQuotaRetryMaxWait is how long, in total, a submit through Dial waits and retries
// when the server refuses it for the token's submit quota.
const DefaultQuotaRetryMaxWait = 30 * time.Second

// retryPushbackKey is the trailer in which the server says how long to wait, in ms (gRPC's
// own retry pushback key).
const retryPushbackKey = "grpc-retry-pushback-ms"

// submitMethods are the calls a quota refusal is retried for: nothing of a refused submit
// was written, so sending it again is safe.
var submitMethods = map[string]bool{
	"/taskqueue.v1.TaskService/SubmitTask":  true,
	"/taskqueue.v1.TaskService/SubmitTasks": true,
}

// QuotaRetryInterceptor waits and retries a submit that the server refused for the token's
// submit quota (RESOURCE_EXHAUSTED with a grpc-retry-pushback-ms trailer; nothing was
// written), for at most maxWait in total and never past the call's context. Other calls
// and other refusals (a payload over the queue's limit has no pushback) pass unchanged.
// Dial installs it with DefaultQuotaRetryMaxWait; add it yourself to a connection you pass
// to NewClient.
func QuotaRetryInterceptor(maxWait time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !submitMethods[method] || maxWait <= 0 {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		waited := time.Duration(0)
		for {
			var trailer metadata.MD
			err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&trailer))...)
			delay, ok := quotaPushback(err, trailer)
			if !ok || waited+delay > maxWait {
				return err
			}
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				timer.Stop()
				return err
			case <-timer.C:
			}
			waited += delay
		}
	}
}

// quotaPushback is the wait a quota refusal asks for; false for any other outcome.
func quotaPushback(err error, trailer metadata.MD) (time.Duration, bool) {
	if status.Code(err) != codes.ResourceExhausted {
		return 0, false
	}
	values := trailer.Get(retryPushbackKey)
	if len(values) == 0 {
		return 0, false
	}
	ms, parseErr := strconv.ParseInt(values[0], 10, 64)
	if parseErr != nil || ms < 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}
