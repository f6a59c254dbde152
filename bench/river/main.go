// Command river-bench is the benchmark harness's River peer: the same no-op workload as the
// taskqueue and BullMQ scenarios, run by River (Go + Postgres) against the harness's Postgres.
//
// It is started by the harness (bench/scenarios/peers.ts) in one of three roles, each with one
// JSON argument (see the config type below):
//
//	river-bench migrate  CONFIG   creates or upgrades River's tables, then exits
//	river-bench producer CONFIG   inserts `count` jobs with InsertMany in batches, `inFlight` at once
//	river-bench worker   CONFIG   runs jobs of `queue` with `maxWorkers` goroutines
//
// Producers and workers talk to the harness over Node.js's IPC channel (the file descriptor in
// NODE_CHANNEL_FD, one JSON message per line): they send `ready`, `progress`, `done`, `report`
// and `error` messages and obey `go`, `report` and `stop`, as the harness's Node.js children do.
// A worker counts a job once River's completer has committed it (the JobCompleted event is sent
// after the batch that marks the job completed has been written).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// config is the one JSON argument of every role (RiverConfig in bench/children/messages.ts).
type config struct {
	DatabaseURL string `json:"databaseUrl"`
	Schema      string `json:"schema"`
	Queue       string `json:"queue"`
	// producer
	Count     int `json:"count"`
	BatchSize int `json:"batchSize"`
	InFlight  int `json:"inFlight"`
	// producer, rate mode: jobs per second for durationMs (0 = as fast as possible, in batches).
	RatePerS   float64 `json:"ratePerS"`
	DurationMs float64 `json:"durationMs"`
	WarmupMs   float64 `json:"warmupMs"`
	// worker; zero durations keep River's defaults.
	MaxWorkers          int     `json:"maxWorkers"`
	FetchCooldownMs     float64 `json:"fetchCooldownMs"`
	FetchPollIntervalMs float64 `json:"fetchPollIntervalMs"`
	// worker: keep each job's created_at → handler start and completion time (latency).
	Record bool `json:"record"`
	// producer: bytes of JSON payload per job ({"data":"xx…"}); 0: none.
	PayloadBytes int `json:"payloadBytes"`
	// worker: each job sleeps a random time in [min, max] ms; absent: returns at once.
	WorkMs []float64 `json:"workMs"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: river-bench migrate|producer|worker CONFIG_JSON")
		os.Exit(2)
	}
	var cfg config
	if err := json.Unmarshal([]byte(os.Args[2]), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "river-bench: bad configuration: %v\n", err)
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "migrate":
		err = migrate(ctx, cfg)
	case "producer":
		err = runProducer(ctx, cfg, openChannel())
	case "worker":
		err = runWorker(ctx, cfg, openChannel())
	default:
		err = fmt.Errorf("unknown role %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

// logger logs River's warnings and errors to stderr.
func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func connect(ctx context.Context, url string) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connecting to Postgres: %w", err)
	}
	return pool, pool.Ping(ctx)
}

func migrate(ctx context.Context, cfg config) error {
	pool, err := connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger(), Schema: cfg.Schema})
	if err != nil {
		return err
	}
	_, err = migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// epochMs is the wall clock in epoch milliseconds with sub-millisecond precision, comparable
// with the harness's epochNow.
func epochMs(t time.Time) float64 {
	return float64(t.UnixNano()) / 1e6
}

func millis(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}

// noopArgs are the arguments of the benchmark's job: none, or a payload of filler bytes.
type noopArgs struct {
	Data string `json:"data,omitempty"`
}

// argsFor gives job arguments of about `payloadBytes` bytes of JSON, as the harness's benchPayload.
func argsFor(payloadBytes int) noopArgs {
	if payloadBytes <= 0 {
		return noopArgs{}
	}
	return noopArgs{Data: strings.Repeat("x", max(0, payloadBytes-11))}
}

// Kind is the job kind, as the other systems' task type.
func (noopArgs) Kind() string { return "noop" }
