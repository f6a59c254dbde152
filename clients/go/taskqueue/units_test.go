package taskqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func TestBackoffIsExponentialWithEqualJitterAndCapped(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	b.random = func() float64 { return 0 }
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, b.next())
	}
	want := []time.Duration{50, 100, 200, 400, 500, 500}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays = %v, want %v ms (lower bounds)", got, want)
		}
	}
	b.random = func() float64 { return 0.999999 }
	b.reset()
	if d := b.next(); d < 99*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("upper bound after reset = %v", d)
	}
}

type typed struct{}

func (typed) Error() string     { return "typed" }
func (typed) ErrorType() string { return "MyType" }

func TestFailureOfMapsErrorsToTypes(t *testing.T) {
	cases := []struct {
		err          error
		typ          string
		nonRetryable bool
	}{
		{errors.New("x"), "Error", false},
		{NonRetryable(errors.New("bad input"), "InvalidPayload"), "InvalidPayload", true},
		{fmt.Errorf("wrapped: %w", NonRetryable(errors.New("y"))), "NonRetryableError", true},
		{typed{}, "MyType", false},
		{fmt.Errorf("%w after 1s", ErrTaskTimeout), "TimeoutError", false},
		{fmt.Errorf("%w: no", ErrTaskCancelled), "CancelledError", false},
	}
	for _, c := range cases {
		f := failureOf(c.err)
		if f.GetType() != c.typ || f.GetNonRetryable() != c.nonRetryable || f.GetMessage() != c.err.Error() {
			t.Errorf("failureOf(%v) = %v, want type %s non_retryable %v", c.err, f, c.typ, c.nonRetryable)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, in := range []any{nil, 1, "s", true, []any{1, "a", nil}, map[string]any{"a": map[string]any{}}, json.RawMessage(`{"b":[1,2]}`)} {
		v, err := jsonValue(in)
		if err != nil {
			t.Fatalf("jsonValue(%v): %v", in, err)
		}
		want, _ := json.Marshal(in)
		if got := rawJSON(v); string(got) != string(want) {
			t.Errorf("round trip of %s gave %s", want, got)
		}
	}
	if v, err := jsonValue(json.RawMessage(nil)); err != nil || v.GetKind() == nil || rawJSON(v) == nil {
		t.Errorf("an empty RawMessage gave %v, %v", v, err)
	}
	if _, err := jsonValue(func() {}); err == nil {
		t.Error("a func encoded as JSON")
	}
}

func TestStatesAndErrors(t *testing.T) {
	if ParseState("queued") != StateQueued || ParseState("TASK_STATE_DEAD") != StateDead {
		t.Error("ParseState")
	}
	if !IsTerminal(StateCancelled) || IsTerminal(StateFailed) {
		t.Error("IsTerminal")
	}
	err := wrapCallError("GetTask", status.Error(codes.NotFound, "task x not found"))
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Errorf("errors.Is on %v", err)
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Message != "task x not found" || apiErr.Op != "GetTask" {
		t.Errorf("errors.As on %v", err)
	}
	if s, _ := status.FromError(err); s.Code() != codes.NotFound {
		t.Errorf("status of %v", err)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	ok := WorkerOptions{Target: "x:1", Queues: []string{"q"}, Handlers: map[string]Handler{"t": func(context.Context, *LeasedTask) (any, error) { return nil, nil }}}
	compiled, err := ok.compile()
	if err != nil || compiled.Concurrency != 10 || compiled.WorkerID == "" || compiled.SilentIntervals != 3 {
		t.Fatalf("compile = %+v, %v", compiled, err)
	}
	for field, bad := range map[string]WorkerOptions{
		"Target":      {Queues: ok.Queues, Handlers: ok.Handlers},
		"Queues":      {Target: "x:1", Handlers: ok.Handlers},
		"Handlers":    {Target: "x:1", Queues: ok.Queues},
		"Concurrency": {Target: "x:1", Queues: ok.Queues, Handlers: ok.Handlers, Concurrency: 10_001},
	} {
		var optErr *OptionsError
		if _, err := bad.compile(); !errors.As(err, &optErr) || optErr.Field != field {
			t.Errorf("compile without %s: %v", field, err)
		}
	}
}

func TestCreditsAreGatheredWhileTheServerHoldsTheReserve(t *testing.T) {
	cases := []struct{ concurrency, busy, outstanding, want int }{
		{200, 0, 0, 200},  // at the welcome: everything
		{200, 199, 0, 1},  // the server holds nothing: a freed slot at once
		{200, 170, 24, 6}, // below the reserve of 25: every free slot
		{200, 1, 190, 0},  // the server holds plenty: wait
		{200, 0, 176, 0},  // 24 free, still short of the reserve
		{200, 0, 175, 25}, // a reserve's worth
		{16, 0, 15, 0},    // reserve 2
		{2, 1, 0, 1},      // reserve 1: always at once
		{4, 4, 0, 0},      // nothing free
	}
	for _, c := range cases {
		if got := creditsToGrant(c.concurrency, c.busy, c.outstanding); got != c.want {
			t.Errorf("creditsToGrant(%d, %d, %d) = %d, want %d", c.concurrency, c.busy, c.outstanding, got, c.want)
		}
	}
}

func TestResultBatchesStayWithinTheLimit(t *testing.T) {
	bytesResult := func(id string, n int) *taskqueuev1.TaskResult {
		return &taskqueuev1.TaskResult{TaskId: id, LeaseToken: "l-" + id, Outcome: &taskqueuev1.TaskResult_Success{Success: &taskqueuev1.TaskSuccess{
			ResultData: &taskqueuev1.TaskSuccess_ResultBytes{ResultBytes: make([]byte, n)},
		}}}
	}
	results := []*taskqueuev1.TaskResult{bytesResult("a", 400), bytesResult("b", 400), bytesResult("c", 2000), bytesResult("d", 100), bytesResult("e", 900)}
	batches, tooLarge := resultBatches(results, 1000)
	var ids []string
	for _, batch := range batches {
		if n := proto.Size(resultsRequest(batch)); n > 1000 {
			t.Errorf("a batch takes %d bytes, over the limit of 1000", n)
		}
		for _, r := range batch {
			ids = append(ids, r.GetTaskId())
			if r.GetTaskId() == "c" {
				if f := r.GetFailure(); f.GetType() != "ResultTooLarge" || !f.GetNonRetryable() || r.GetLeaseToken() != "l-c" {
					t.Errorf("c was sent as %v, want a ResultTooLarge failure for its lease", r)
				}
			}
		}
	}
	if fmt.Sprint(ids) != "[a b c d e]" || len(batches) < 3 || fmt.Sprint(tooLarge) != "[c]" {
		t.Fatalf("batches of %v (%d), too large %v", ids, len(batches), tooLarge)
	}
	if one, _ := resultBatches(results[:2], 4*1024*1024); len(one) != 1 || len(one[0]) != 2 {
		t.Fatalf("results within the limit were split: %v", one)
	}
}

func TestFailureTextsAreCutToWhatTheServerKeeps(t *testing.T) {
	f := failureOf(NonRetryable(errors.New(strings.Repeat("é", 5000)), strings.Repeat("T", 200)))
	if utf8.RuneCountInString(f.GetMessage()) != 4096 || len(f.GetType()) != 128 || !utf8.ValidString(f.GetMessage()) {
		t.Fatalf("message of %d characters, type of %d", utf8.RuneCountInString(f.GetMessage()), len(f.GetType()))
	}
}

func TestSubmitRequestsCarryTheConcurrencyKey(t *testing.T) {
	req, err := TaskSpec{Queue: "q", Type: "t", ConcurrencyKey: "acme"}.toProto()
	if err != nil {
		t.Fatal(err)
	}
	if req.GetConcurrencyKey() != "acme" {
		t.Fatalf("concurrency_key %q, want acme", req.GetConcurrencyKey())
	}
}
