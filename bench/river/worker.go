package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// noopWorker runs the benchmark's job: it does nothing and succeeds. When recording, it keeps
// each job's created_at → handler start.
type noopWorker struct {
	river.WorkerDefaults[noopArgs]
	tally  *tally
	workMs []float64
}

// Work records the dispatch latency (when recording), sleeps the configured work time, and
// returns.
func (w *noopWorker) Work(_ context.Context, job *river.Job[noopArgs]) error {
	if w.tally.record {
		w.tally.dispatched(fmt.Sprint(job.ID), float64(time.Since(job.CreatedAt))/float64(time.Millisecond))
	}
	if len(w.workMs) == 2 && w.workMs[1] > 0 {
		time.Sleep(millis(w.workMs[0] + rand.Float64()*(w.workMs[1]-w.workMs[0])))
	}
	return nil
}

// tally counts committed completions and reports them to the harness at most every 10 ms.
type tally struct {
	mu         sync.Mutex
	record     bool
	completed  int
	failed     int
	firstAt    float64
	lastAt     float64
	dispatches [][2]any
	acks       [][2]any
	pending    bool
	ch         *channel
}

func (t *tally) dispatched(id string, ms float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dispatches = append(t.dispatches, [2]any{id, ms})
}

func (t *tally) add(id int64, at time.Time, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if failed {
		t.failed++
	} else {
		t.completed++
	}
	t.firstAt = math.Min(t.firstAt, epochMs(at))
	t.lastAt = math.Max(t.lastAt, epochMs(at))
	if t.record {
		t.acks = append(t.acks, [2]any{fmt.Sprint(id), epochMs(at)})
	}
	if !t.pending {
		t.pending = true
		time.AfterFunc(10*time.Millisecond, t.flush)
	}
}

func (t *tally) totals() map[string]any {
	return map[string]any{"completed": t.completed, "failed": t.failed, "firstAt": t.firstAt, "lastAt": t.lastAt}
}

func (t *tally) flush() {
	t.mu.Lock()
	t.pending = false
	message := t.totals()
	t.mu.Unlock()
	message["type"] = "progress"
	t.ch.send(message)
}

func (t *tally) report() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	report := t.totals()
	report["perStream"] = []int{}
	report["dispatches"] = t.dispatches
	report["acks"] = t.acks
	return map[string]any{"type": "report", "report": report}
}

// runWorker starts a River client working `queue` and counts the jobs whose completion River has
// committed (JobCompleted events come after the completer's batch is written).
func runWorker(ctx context.Context, cfg config, ch *channel) error {
	pool, err := connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	counts := &tally{record: cfg.Record, firstAt: math.Inf(1), dispatches: [][2]any{}, acks: [][2]any{}, ch: ch}
	workers := river.NewWorkers()
	river.AddWorker(workers, &noopWorker{tally: counts, workMs: cfg.WorkMs})
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Logger:            logger(),
		Schema:            cfg.Schema,
		FetchCooldown:     millis(cfg.FetchCooldownMs),
		FetchPollInterval: millis(cfg.FetchPollIntervalMs),
		Queues:            map[string]river.QueueConfig{cfg.Queue: {MaxWorkers: cfg.MaxWorkers}},
		Workers:           workers,
	})
	if err != nil {
		return err
	}
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: 1_000_000,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
	})
	defer cancel()
	go func() {
		for event := range events {
			if event.Job != nil && event.Job.Queue == cfg.Queue {
				counts.add(event.Job.ID, time.Now(), event.Kind != river.EventKindJobCompleted)
			}
		}
	}()
	if err := client.Start(ctx); err != nil {
		return err
	}
	ch.send(map[string]any{"type": "ready", "pid": pid()})
	for command := range ch.commands {
		switch command {
		case "report":
			ch.send(counts.report())
		case "stop":
			stopCtx, done := context.WithTimeout(ctx, 5*time.Second)
			_ = client.Stop(stopCtx)
			done()
			pool.Close()
			os.Exit(0)
		}
	}
	return nil
}

func pid() int { return os.Getpid() }
