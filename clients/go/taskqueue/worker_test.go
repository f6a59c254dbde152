package taskqueue

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// scriptedServer is a WorkerService whose streams the test drives by hand: each accepted
// stream is handed to the test, which reads the worker's requests and sends responses.
type scriptedServer struct {
	taskqueuev1.UnimplementedWorkerServiceServer
	streams chan *scriptedStream
}

type scriptedStream struct {
	stream   taskqueuev1.WorkerService_ConnectServer
	requests chan *taskqueuev1.ConnectRequest
	ended    chan struct{} // closed when the worker half-closed or the stream broke
	finish   chan struct{} // closed by the test to end the stream with OK
	fail     chan error    // an error sent by the test ends the stream with its status
}

func (s *scriptedServer) Connect(stream taskqueuev1.WorkerService_ConnectServer) error {
	ss := &scriptedStream{stream: stream, requests: make(chan *taskqueuev1.ConnectRequest, 100), ended: make(chan struct{}), finish: make(chan struct{}), fail: make(chan error, 1)}
	go func() {
		defer close(ss.ended)
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			ss.requests <- req
		}
	}()
	s.streams <- ss
	select {
	case err := <-ss.fail:
		return err
	case <-ss.finish:
	case <-ss.ended:
	case <-stream.Context().Done():
	}
	return nil
}

func startScripted(t *testing.T) (string, *scriptedServer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	scripted := &scriptedServer{streams: make(chan *scriptedStream, 10)}
	taskqueuev1.RegisterWorkerServiceServer(srv, scripted)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), scripted
}

// within fails the test unless a value arrives on ch before the deadline.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// next returns the next request that is not a heartbeat.
func (ss *scriptedStream) next(t *testing.T, what string) *taskqueuev1.ConnectRequest {
	t.Helper()
	for {
		req := within(t, ss.requests, what)
		if req.GetHeartbeat() == nil {
			return req
		}
	}
}

func (ss *scriptedStream) send(t *testing.T, msg *taskqueuev1.ConnectResponse) {
	t.Helper()
	if err := ss.stream.Send(msg); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func (ss *scriptedStream) welcome(t *testing.T, heartbeat time.Duration) {
	t.Helper()
	hello := ss.next(t, "hello").GetHello()
	if hello == nil || hello.GetSdk() != SDKName {
		t.Fatalf("first request is not the hello: %v", hello)
	}
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Welcome{Welcome: &taskqueuev1.Welcome{
		SessionId: "s1", LeaseDuration: durationpb.New(3 * heartbeat), HeartbeatInterval: durationpb.New(heartbeat),
	}}})
}

// welcomeLimited welcomes like welcome, stating that the server accepts requests of at most
// maxRequest bytes.
func (ss *scriptedStream) welcomeLimited(t *testing.T, heartbeat time.Duration, maxRequest int32) {
	t.Helper()
	ss.next(t, "hello")
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Welcome{Welcome: &taskqueuev1.Welcome{
		SessionId: "s1", LeaseDuration: durationpb.New(3 * heartbeat), HeartbeatInterval: durationpb.New(heartbeat),
		MaxReceiveMessageBytes: maxRequest,
	}}})
}

func (ss *scriptedStream) assign(t *testing.T, tasks ...*taskqueuev1.LeasedTask) {
	t.Helper()
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Assignment{Assignment: &taskqueuev1.TaskAssignment{Tasks: tasks}}})
}

func (ss *scriptedStream) ack(t *testing.T, id, token string, status taskqueuev1.ResultStatus) {
	t.Helper()
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Acks{Acks: &taskqueuev1.ResultAcks{Acks: []*taskqueuev1.ResultAck{
		{TaskId: id, LeaseToken: token, Status: status},
	}}}})
}

func leased(id, typ string) *taskqueuev1.LeasedTask {
	return &taskqueuev1.LeasedTask{TaskId: id, Queue: "q", Type: typ, Attempt: 1, MaxAttempts: 3, LeaseToken: "tok-" + id}
}

func runWorker(t *testing.T, addr string, concurrency int, handlers map[string]Handler, hooks ...Hooks) (stop func()) {
	t.Helper()
	opts := WorkerOptions{
		Target: addr, Queues: []string{"q"}, Handlers: handlers, Concurrency: concurrency,
		ReconnectInitialDelay: 10 * time.Millisecond, ReconnectMaxDelay: 20 * time.Millisecond, ShutdownTimeout: 500 * time.Millisecond,
	}
	if len(hooks) > 0 {
		opts.Hooks = hooks[0]
	}
	w, err := NewWorker(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		if err := within(t, done, "Run to return"); err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func TestCreditsResultsAndCancel(t *testing.T) {
	addr, server := startScripted(t)
	release := make(chan struct{})
	observed := make(chan error, 1)
	stop := runWorker(t, addr, 2, map[string]Handler{
		"echo": func(_ context.Context, task *LeasedTask) (any, error) { <-release; return task.Payload, nil },
		"wait": func(ctx context.Context, _ *LeasedTask) (any, error) {
			<-ctx.Done()
			observed <- context.Cause(ctx)
			return nil, ctx.Err()
		},
	})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	if c := ss.next(t, "credit").GetCredit(); c.GetCredits() != 2 {
		t.Fatalf("first credit = %v, want 2", c)
	}
	ss.assign(t, leased("a", "echo"), leased("b", "wait"))
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Cancel{Cancel: &taskqueuev1.CancelCommand{TaskId: "b", LeaseToken: "tok-b", Reason: "no"}}})
	results := ss.next(t, "the cancelled task's result").GetResults().GetResults()
	if len(results) != 1 || results[0].GetFailure().GetType() != "CancelledError" || results[0].GetLeaseToken() != "tok-b" {
		t.Fatalf("results = %v", results)
	}
	if cause := within(t, observed, "the handler to see the cancel"); !errors.Is(cause, ErrTaskCancelled) {
		t.Fatalf("cause = %v", cause)
	}
	if c := ss.next(t, "credit for the freed slot").GetCredit(); c.GetCredits() != 1 {
		t.Fatalf("credit after cancel = %v, want 1", c)
	}
	close(release)
	results = ss.next(t, "echo's result").GetResults().GetResults()
	if len(results) != 1 || results[0].GetTaskId() != "a" || results[0].GetSuccess() == nil {
		t.Fatalf("results = %v", results)
	}
}

func TestRejectedSuccessIsReplacedByAFailure(t *testing.T) {
	addr, server := startScripted(t)
	stop := runWorker(t, addr, 1, map[string]Handler{"echo": func(context.Context, *LeasedTask) (any, error) { return "big", nil }})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	ss.assign(t, leased("a", "echo"))
	if r := ss.next(t, "result").GetResults().GetResults()[0]; r.GetSuccess() == nil {
		t.Fatalf("result = %v", r)
	}
	ss.ack(t, "a", "tok-a", taskqueuev1.ResultStatus_RESULT_STATUS_REJECTED)
	for {
		req := ss.next(t, "the replacement failure")
		if rs := req.GetResults(); rs != nil {
			f := rs.GetResults()[0].GetFailure()
			if f.GetType() != "ResultRejected" || !f.GetNonRetryable() {
				t.Fatalf("failure = %v", f)
			}
			return
		}
	}
}

func TestTimeoutAndUnknownType(t *testing.T) {
	addr, server := startScripted(t)
	stop := runWorker(t, addr, 2, map[string]Handler{"wait": func(ctx context.Context, _ *LeasedTask) (any, error) {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	slow := leased("a", "wait")
	slow.Timeout = durationpb.New(30 * time.Millisecond)
	ss.assign(t, slow, leased("b", "nope"))
	types := map[string]string{}
	for len(types) < 2 {
		for _, r := range ss.next(t, "two results").GetResults().GetResults() {
			types[r.GetTaskId()] = r.GetFailure().GetType()
		}
	}
	if types["a"] != "TimeoutError" || types["b"] != "UnknownTaskTypeError" {
		t.Fatalf("failure types = %v", types)
	}
}

func TestDeafServerIsLeftForANewConnection(t *testing.T) {
	addr, server := startScripted(t)
	stop := runWorker(t, addr, 1, map[string]Handler{"echo": func(context.Context, *LeasedTask) (any, error) { return nil, nil }})
	defer stop()
	first := within(t, server.streams, "a stream")
	first.welcome(t, 30*time.Millisecond) // then never answers the heartbeats
	second := within(t, server.streams, "a new stream after 3 silent intervals")
	second.welcome(t, time.Second)
	if c := second.next(t, "credit on the new stream").GetCredit(); c.GetCredits() != 1 {
		t.Fatalf("credit = %v", c)
	}
}

func TestDrainFinishesHeldWorkThenHalfCloses(t *testing.T) {
	addr, server := startScripted(t)
	// The handler finishes only once the worker has seen the drain.
	release := make(chan struct{})
	stop := runWorker(t, addr, 1,
		map[string]Handler{"echo": func(context.Context, *LeasedTask) (any, error) { <-release; return 1, nil }},
		Hooks{OnDrain: func(time.Time, string) { close(release) }})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	ss.assign(t, leased("a", "echo"))
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Drain{Drain: &taskqueuev1.DrainCommand{Reason: "bye"}}})
	if r := ss.next(t, "the held task's result").GetResults(); r == nil {
		t.Fatal("expected results")
	}
	ss.ack(t, "a", "tok-a", taskqueuev1.ResultStatus_RESULT_STATUS_ACCEPTED)
	within(t, ss.ended, "the worker to half-close")
	for {
		select {
		case req := <-ss.requests:
			if req.GetCredit() != nil {
				t.Fatalf("credit granted while draining: %v", req)
			}
		default:
			return
		}
	}
}

func TestDrainDeadlineIsReadOnTheServersClock(t *testing.T) {
	addr, server := startScripted(t)
	stop := runWorker(t, addr, 1, map[string]Handler{"hold": func(ctx context.Context, _ *LeasedTask) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	ss.assign(t, leased("h", "hold"))
	// The server's clock runs an hour ahead of the worker's; its drain leaves 200 ms.
	serverNow := time.Now().Add(time.Hour)
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_HeartbeatAck{HeartbeatAck: &taskqueuev1.HeartbeatAck{
		ServerTime: timestamppb.New(serverNow), LeasesExtended: 1,
	}}})
	ss.send(t, &taskqueuev1.ConnectResponse{Message: &taskqueuev1.ConnectResponse_Drain{Drain: &taskqueuev1.DrainCommand{
		Reason: "restarting", Deadline: timestamppb.New(serverNow.Add(200 * time.Millisecond)),
	}}})
	// Read on the worker's clock the deadline would be an hour away; on the server's, the
	// worker abandons the stream 200 ms + the close grace later.
	within(t, ss.ended, "the worker to abandon the stream at the drain deadline")
}

func TestGracefulStopAnnouncesDraining(t *testing.T) {
	addr, server := startScripted(t)
	stop := runWorker(t, addr, 1, map[string]Handler{"echo": func(context.Context, *LeasedTask) (any, error) { return nil, nil }})
	ss := within(t, server.streams, "a stream")
	ss.welcome(t, time.Second)
	ss.next(t, "credit")
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	if d := ss.next(t, "draining").GetDraining(); d == nil {
		t.Fatal("expected draining")
	}
	within(t, ss.ended, "the worker to half-close")
	within(t, stopped, "Run to return")
}

func TestResultsFinishingTogetherAreSplitWithinTheServersLimit(t *testing.T) {
	addr, server := startScripted(t)
	var started sync.WaitGroup
	started.Add(3)
	stop := runWorker(t, addr, 4, map[string]Handler{
		"big": func(context.Context, *LeasedTask) (any, error) {
			started.Done()
			started.Wait()
			return make([]byte, 1200), nil
		},
		"huge": func(context.Context, *LeasedTask) (any, error) { return make([]byte, 5000), nil },
	})
	defer stop()
	ss := within(t, server.streams, "a stream")
	ss.welcomeLimited(t, time.Second, 3000)
	ss.next(t, "credit")
	ss.assign(t, leased("a", "big"), leased("b", "big"), leased("c", "big"), leased("d", "huge"))
	got := map[string]*taskqueuev1.TaskResult{}
	messages := 0
	for len(got) < 4 {
		req := ss.next(t, "the results")
		if req.GetResults() == nil {
			continue
		}
		messages++
		if n := proto.Size(req); n > 3000 {
			t.Fatalf("a results message of %d bytes, over the server's 3000", n)
		}
		for _, r := range req.GetResults().GetResults() {
			got[r.GetTaskId()] = r
		}
	}
	if messages < 2 {
		t.Fatalf("%d results message for three 1200-byte results, want them split", messages)
	}
	for _, id := range []string{"a", "b", "c"} {
		if len(got[id].GetSuccess().GetResultBytes()) != 1200 {
			t.Fatalf("result of %s = %v", id, got[id])
		}
	}
	if f := got["d"].GetFailure(); f.GetType() != "ResultTooLarge" || !f.GetNonRetryable() {
		t.Fatalf("the result too large to send was sent as %v", got["d"])
	}
}
