package taskqueue

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Client is the producer API (TaskService). It is safe for concurrent use. Every method
// takes a context: its deadline becomes the call's deadline and its cancellation cancels
// the call. Failures are *Error values (see the Err* sentinels).
type Client struct {
	service taskqueuev1.TaskServiceClient
	conn    *grpc.ClientConn
}

// Dial creates a Client with its own connection to target ("host:port"). Without
// options the connection is plaintext unless the environment names TLS files (TQ_TLS_CA,
// TQ_TLS_CERT, TQ_TLS_KEY); pass grpc.WithTransportCredentials(TLSCredentials(...)) for
// TLS. The environment's TQ_TOKEN is sent as a bearer token unless opts has WithToken. Its
// calls carry the OpenTelemetry context of their ctx ([TraceContextInterceptor]), and a
// submit refused for the token's quota is retried after the delay the server names
// ([QuotaRetryInterceptor]).
// The connection is established lazily; Close releases it.
func Dial(target string, opts ...grpc.DialOption) (*Client, error) {
	conn, err := dial(target, opts)
	if err != nil {
		return nil, err
	}
	return &Client{service: taskqueuev1.NewTaskServiceClient(conn), conn: conn}, nil
}

// NewClient creates a Client on a connection the caller owns (and closes).
func NewClient(conn grpc.ClientConnInterface) *Client {
	return &Client{service: taskqueuev1.NewTaskServiceClient(conn)}
}

// dial opens a connection: the environment's defaults (see defaultDialOptions), then opts.
func dial(target string, opts []grpc.DialOption) (*grpc.ClientConn, error) {
	defaults, err := defaultDialOptions(opts)
	if err != nil {
		return nil, err
	}
	defaults = append(defaults, grpc.WithChainUnaryInterceptor(injectTraceContext, QuotaRetryInterceptor(DefaultQuotaRetryMaxWait)))
	all := append(defaults, opts...)
	conn, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, &OptionsError{Field: "target", Problem: err.Error()}
	}
	return conn, nil
}

// Close closes the connection Dial opened; it does nothing for NewClient.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	return c.conn.Close()
}

// Service returns the generated stub, for requests this layer does not cover.
func (c *Client) Service() taskqueuev1.TaskServiceClient { return c.service }

// Submission is the outcome of a submit.
type Submission struct {
	// Task is the task as committed (or the existing one).
	Task *Task
	// Existing is true when the idempotency key matched an existing task.
	Existing bool
}

// Submit submits one task. It returns once the task is durably committed.
func (c *Client) Submit(ctx context.Context, spec TaskSpec) (*Submission, error) {
	req, err := spec.toProto()
	if err != nil {
		return nil, err
	}
	resp, err := c.service.SubmitTask(ctx, req)
	if err != nil {
		return nil, wrapCallError("SubmitTask", err)
	}
	return &Submission{Task: taskFromProto(resp.GetTask()), Existing: resp.GetExisting()}, nil
}

// BatchItem is the outcome of one task of a batch submit: either Task or Err is set.
type BatchItem struct {
	Task     *Task
	Existing bool
	// Err is an *Error naming the refused field; nothing was written for this item.
	Err error
}

// SubmitBatch submits up to 1000 tasks in one call and returns one item per spec, in
// order. A bad item fails alone; the call itself fails only when the whole request does.
func (c *Client) SubmitBatch(ctx context.Context, specs []TaskSpec) ([]BatchItem, error) {
	req := &taskqueuev1.SubmitTasksRequest{Tasks: make([]*taskqueuev1.SubmitTaskRequest, 0, len(specs))}
	for i, spec := range specs {
		one, err := spec.toProto()
		if err != nil {
			return nil, fmt.Errorf("tasks[%d]: %w", i, err)
		}
		req.Tasks = append(req.Tasks, one)
	}
	resp, err := c.service.SubmitTasks(ctx, req)
	if err != nil {
		return nil, wrapCallError("SubmitTasks", err)
	}
	items := make([]BatchItem, len(resp.GetResults()))
	for i, r := range resp.GetResults() {
		if e := r.GetError(); e != nil {
			code := codes.InvalidArgument
			_ = code.UnmarshalJSON([]byte(`"` + e.GetCode() + `"`))
			items[i] = BatchItem{Err: &Error{Op: "SubmitTasks", Code: code, Message: e.GetMessage(), Field: e.GetField()}}
			continue
		}
		items[i] = BatchItem{Task: taskFromProto(r.GetTask()), Existing: r.GetExisting()}
	}
	return items, nil
}

// Get returns one task.
func (c *Client) Get(ctx context.Context, id string) (*Task, error) {
	resp, err := c.service.GetTask(ctx, &taskqueuev1.GetTaskRequest{Id: id})
	if err != nil {
		return nil, wrapCallError("GetTask", err)
	}
	return taskFromProto(resp.GetTask()), nil
}

// GetWithAttempts returns one task and its attempt history, oldest first.
func (c *Client) GetWithAttempts(ctx context.Context, id string) (*Task, []Attempt, error) {
	resp, err := c.service.GetTask(ctx, &taskqueuev1.GetTaskRequest{Id: id, IncludeAttempts: true})
	if err != nil {
		return nil, nil, wrapCallError("GetTask", err)
	}
	attempts := make([]Attempt, 0, len(resp.GetAttempts()))
	for _, a := range resp.GetAttempts() {
		attempts = append(attempts, attemptFromProto(a))
	}
	return taskFromProto(resp.GetTask()), attempts, nil
}

// ListOptions filters and pages ListTasks. The zero value lists every task, 100 a page.
type ListOptions struct {
	Queue     string
	Type      string
	States    []State
	PageSize  int
	PageToken string
}

// Page is one page of tasks, newest first.
type Page struct {
	Tasks []*Task
	// NextPageToken fetches the next page; "" on the last one.
	NextPageToken string
}

// List returns one page of tasks.
func (c *Client) List(ctx context.Context, opts ListOptions) (*Page, error) {
	resp, err := c.service.ListTasks(ctx, &taskqueuev1.ListTasksRequest{
		Queue:     opts.Queue,
		Type:      opts.Type,
		States:    opts.States,
		PageSize:  int32(opts.PageSize),
		PageToken: opts.PageToken,
	})
	if err != nil {
		return nil, wrapCallError("ListTasks", err)
	}
	page := &Page{Tasks: make([]*Task, 0, len(resp.GetTasks())), NextPageToken: resp.GetNextPageToken()}
	for _, t := range resp.GetTasks() {
		page.Tasks = append(page.Tasks, taskFromProto(t))
	}
	return page, nil
}

// All iterates over every task matching opts, fetching pages as needed. An error ends
// the iteration after being yielded once.
func (c *Client) All(ctx context.Context, opts ListOptions) iter.Seq2[*Task, error] {
	return func(yield func(*Task, error) bool) {
		for {
			page, err := c.List(ctx, opts)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, t := range page.Tasks {
				if !yield(t, nil) {
					return
				}
			}
			if page.NextPageToken == "" {
				return
			}
			opts.PageToken = page.NextPageToken
		}
	}
}

// Cancel cancels a task that has not finished; reason is recorded on it. A queued task is
// returned CANCELLED; a running one RUNNING, its worker told to abort. Cancelling a
// finished task fails with ErrFailedPrecondition.
func (c *Client) Cancel(ctx context.Context, id, reason string) (*Task, error) {
	resp, err := c.service.CancelTask(ctx, &taskqueuev1.CancelTaskRequest{Id: id, Reason: reason})
	if err != nil {
		return nil, wrapCallError("CancelTask", err)
	}
	return taskFromProto(resp.GetTask()), nil
}

// WaitOptions tunes [Client.Wait].
type WaitOptions struct {
	// PollInterval between two GetTask calls. Default 100ms.
	PollInterval time.Duration
	// Until stops waiting once the task reaches one of these states. Default: any
	// terminal state (SUCCEEDED, DEAD, CANCELLED).
	Until []State
}

// Wait polls the task until it reaches a terminal state (or opts.Until), and returns it.
// Bound it with the context's deadline. There is no server push for task states, so this
// polls GetTask every opts.PollInterval.
func (c *Client) Wait(ctx context.Context, id string, opts WaitOptions) (*Task, error) {
	interval := opts.PollInterval
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	done := func(s State) bool {
		if len(opts.Until) == 0 {
			return IsTerminal(s)
		}
		for _, u := range opts.Until {
			if u == s {
				return true
			}
		}
		return false
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		task, err := c.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if done(task.State) {
			return task, nil
		}
		select {
		case <-ctx.Done():
			return task, &Error{Op: "Wait", Code: codeOfContext(ctx.Err()), Message: "task " + id + " is " + StateName(task.State), cause: ctx.Err()}
		case <-ticker.C:
		}
	}
}

func codeOfContext(err error) codes.Code {
	if errors.Is(err, context.DeadlineExceeded) {
		return codes.DeadlineExceeded
	}
	return codes.Canceled
}
