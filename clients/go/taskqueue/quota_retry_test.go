package taskqueue

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// refusingInvoker refuses the first `refusals` calls for the quota, with the given pushback.
func refusingInvoker(refusals int, pushback string, calls *int) grpc.UnaryInvoker {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		*calls++
		if *calls > refusals {
			return nil
		}
		for _, o := range opts {
			if t, ok := o.(grpc.TrailerCallOption); ok && pushback != "" {
				*t.TrailerAddr = metadata.Pairs(retryPushbackKey, pushback)
			}
		}
		return status.Error(codes.ResourceExhausted, "over the token's submit quota")
	}
}

func TestQuotaRetryWaitsThePushbackThenRetries(t *testing.T) {
	calls := 0
	started := time.Now()
	err := QuotaRetryInterceptor(time.Second)(context.Background(), "/taskqueue.v1.TaskService/SubmitTasks", nil, nil, nil, refusingInvoker(2, "20", &calls))
	if err != nil || calls != 3 {
		t.Fatalf("want success on the third call, got err=%v calls=%d", err, calls)
	}
	if elapsed := time.Since(started); elapsed < 40*time.Millisecond {
		t.Fatalf("retried after %v, before the two 20 ms pushbacks", elapsed)
	}
}

func TestQuotaRetryGivesUpPastTheMaximumWait(t *testing.T) {
	calls := 0
	err := QuotaRetryInterceptor(50*time.Millisecond)(context.Background(), "/taskqueue.v1.TaskService/SubmitTask", nil, nil, nil, refusingInvoker(10, "40", &calls))
	if status.Code(err) != codes.ResourceExhausted || calls != 2 {
		t.Fatalf("want RESOURCE_EXHAUSTED after 2 calls (40 ms waited, 80 > 50), got %v after %d", err, calls)
	}
}

func TestQuotaRetryLeavesOtherRefusalsAndCallsAlone(t *testing.T) {
	calls := 0
	// A payload over the queue's limit: RESOURCE_EXHAUSTED without a pushback.
	err := QuotaRetryInterceptor(time.Second)(context.Background(), "/taskqueue.v1.TaskService/SubmitTask", nil, nil, nil, refusingInvoker(1, "", &calls))
	if status.Code(err) != codes.ResourceExhausted || calls != 1 {
		t.Fatalf("want the refusal unchanged after one call, got %v after %d", err, calls)
	}
	calls = 0
	err = QuotaRetryInterceptor(time.Second)(context.Background(), "/taskqueue.v1.TaskService/CancelTask", nil, nil, nil, refusingInvoker(1, "10", &calls))
	if status.Code(err) != codes.ResourceExhausted || calls != 1 {
		t.Fatalf("want a non-submit call unchanged, got %v after %d", err, calls)
	}
}
