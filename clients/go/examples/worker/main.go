// Command worker is the example Go worker: it serves the task types echo (returns its
// payload), sleep ({"ms": N}, abortable) and fail ({"times": N, "retryable": bool}: fails
// attempts 1..N), printing one JSON line per event on stdout and logs on stderr.
//
//	go run ./examples/worker -server localhost:50051 -queues default
//
// SIGINT or SIGTERM stops it gracefully: running tasks finish first.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/taskqueue/taskqueue/clients/go/examples/internal/otelsetup"
	"github.com/taskqueue/taskqueue/clients/go/taskqueue"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(2)
	}
}

func run() error {
	server := flag.String("server", envOr("TQ_SERVER", "localhost:50051"), "server address host:port (env TQ_SERVER)")
	queues := flag.String("queues", envOr("TQ_QUEUES", "default"), "comma-separated queues to serve (env TQ_QUEUES)")
	concurrency := flag.Int("concurrency", 10, "most tasks run at once")
	workerID := flag.String("worker-id", "", "worker identity (default hostname/pid/random)")
	shutdown := flag.Duration("shutdown-timeout", 30*time.Second, "graceful stop bound")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// OTEL_* variables turn tracing on: each attempt is then a span in its producer's trace.
	shutdownTracing, err := otelsetup.Start(context.Background(), "taskqueue-example-worker")
	if err != nil {
		return err
	}
	defer func() { _ = shutdownTracing(context.Background()) }()
	events := &eventPrinter{out: os.Stdout}
	worker, err := taskqueue.NewWorker(taskqueue.WorkerOptions{
		Target:          *server,
		Queues:          splitList(*queues),
		Handlers:        handlers(events),
		Concurrency:     *concurrency,
		WorkerID:        *workerID,
		ShutdownTimeout: *shutdown,
		Logger:          logger,
		Hooks:           events.hooks(),
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger.Info("example worker starting", "server", *server, "queues", *queues, "worker_id", worker.ID())
	err = worker.Run(ctx)
	logger.Info("example worker stopped")
	return err
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
