package taskqueue

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"google.golang.org/grpc"
)

// SDKName is announced in the worker's hello.
const SDKName = "taskqueue-go/0.1.0"

// WorkerOptions configures a [Worker]. Target, Queues and Handlers are required; zero
// values of the others take the documented defaults.
type WorkerOptions struct {
	// Target is the server address, "host:port".
	Target string
	// DialOptions are added to the worker's connection: plaintext by default unless the
	// environment names TLS files (TQ_TLS_CA, TQ_TLS_CERT, TQ_TLS_KEY); pass
	// grpc.WithTransportCredentials(TLSCredentials(...)) for TLS and WithToken for a token
	// other than the environment's TQ_TOKEN.
	DialOptions []grpc.DialOption
	// Queues to take tasks from, at least one; each name 1-128 characters of letters,
	// digits and . _ : - (the server's rule: NewWorker refuses other names).
	Queues []string
	// Handlers by task type; their names are announced as the task types served.
	Handlers map[string]Handler
	// Concurrency is the most tasks run at once, 1-10000, default 10: the hello's capacity,
	// which bounds what the server leases to the stream and the credits granted. The server
	// refuses a hello above its MAX_WORKER_CAPACITY (default 1000) with INVALID_ARGUMENT.
	Concurrency int
	// WorkerID is a stable identity, 1-128 characters. Default "hostname/pid/random".
	WorkerID string
	// Labels are announced in the hello.
	Labels map[string]string
	// Logger receives the worker's logs. Default: discarded.
	Logger *slog.Logger
	// Hooks observe sessions, tasks and acks.
	Hooks Hooks
	// ReconnectInitialDelay and ReconnectMaxDelay bound the reconnect back-off
	// (exponential with jitter). Defaults 100ms and 5s.
	ReconnectInitialDelay time.Duration
	ReconnectMaxDelay     time.Duration
	// WelcomeTimeout: a stream not welcomed this long after its hello is dropped. Default 10s.
	WelcomeTimeout time.Duration
	// HeartbeatInterval is used when the welcome states none. Default 10s.
	HeartbeatInterval time.Duration
	// SilentIntervals: a server that sent nothing for this many heartbeat intervals counts
	// as deaf; the stream and its connection are dropped and dialled afresh. Default 3.
	SilentIntervals int
	// ShutdownTimeout bounds the graceful stop when Run's context ends: running tasks
	// finish and their results are acknowledged, then what is left is aborted. Default 30s.
	ShutdownTimeout time.Duration
	// ProgressInterval is the least time between two progress reports of a task. Default 250ms.
	ProgressInterval time.Duration
}

// compile validates the options and fills in the defaults.
func (o WorkerOptions) compile() (WorkerOptions, error) {
	if o.Target == "" {
		return o, &OptionsError{Field: "Target", Problem: "is required (host:port)"}
	}
	if len(o.Queues) == 0 {
		return o, &OptionsError{Field: "Queues", Problem: "must name at least one queue"}
	}
	for i, q := range o.Queues {
		if problem := queueNameProblem(q); problem != "" {
			return o, &OptionsError{Field: fmt.Sprintf("Queues[%d]", i), Problem: problem}
		}
	}
	if len(o.Handlers) == 0 {
		return o, &OptionsError{Field: "Handlers", Problem: "must name at least one task type"}
	}
	for name, h := range o.Handlers {
		if h == nil {
			return o, &OptionsError{Field: "Handlers", Problem: fmt.Sprintf("handler %q is nil", name)}
		}
	}
	if o.Concurrency == 0 {
		o.Concurrency = 10
	}
	if o.Concurrency < 1 || o.Concurrency > 10_000 {
		return o, &OptionsError{Field: "Concurrency", Problem: "must be between 1 and 10000"}
	}
	if o.WorkerID == "" {
		o.WorkerID = defaultWorkerID()
	}
	if len(o.WorkerID) > 128 {
		return o, &OptionsError{Field: "WorkerID", Problem: "must be 1-128 characters"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.ReconnectInitialDelay = orDefault(o.ReconnectInitialDelay, 100*time.Millisecond)
	o.ReconnectMaxDelay = orDefault(o.ReconnectMaxDelay, 5*time.Second)
	o.WelcomeTimeout = orDefault(o.WelcomeTimeout, 10*time.Second)
	o.HeartbeatInterval = orDefault(o.HeartbeatInterval, 10*time.Second)
	o.ShutdownTimeout = orDefault(o.ShutdownTimeout, 30*time.Second)
	o.ProgressInterval = orDefault(o.ProgressInterval, 250*time.Millisecond)
	if o.SilentIntervals <= 0 {
		o.SilentIntervals = 3
	}
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func defaultWorkerID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "go-worker"
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	id := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(suffix))
	if len(id) > 128 {
		id = id[len(id)-128:]
	}
	return id
}
