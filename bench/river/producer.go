package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// producerReport is a ProducerReport of bench/children/messages.ts.
type producerReport struct {
	Submitted    int        `json:"submitted"`
	Errors       int        `json:"errors"`
	FirstStartAt float64    `json:"firstStartAt"`
	LastEndAt    float64    `json:"lastEndAt"`
	LatenciesMs  []float64  `json:"latenciesMs"`
	Submits      [][2]any   `json:"submits"`
	mu           sync.Mutex `json:"-"`
}

func (r *producerReport) add(start, end time.Time, inserted int, failed bool, ids []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.FirstStartAt = math.Min(r.FirstStartAt, epochMs(start))
	r.LastEndAt = math.Max(r.LastEndAt, epochMs(end))
	if failed {
		r.Errors += inserted
		return
	}
	r.Submitted += inserted
	if ids != nil {
		r.LatenciesMs = append(r.LatenciesMs, float64(end.Sub(start))/float64(time.Millisecond))
		for _, id := range ids {
			r.Submits = append(r.Submits, [2]any{fmt.Sprint(id), epochMs(start)})
		}
	}
}

func newReport() *producerReport {
	return &producerReport{FirstStartAt: math.Inf(1), LatenciesMs: []float64{}, Submits: [][2]any{}}
}

// runProducer inserts jobs when told to go: `count` jobs in batches of `batchSize` with
// `inFlight` InsertMany calls at once, or, with `ratePerS`, one InsertMany of one job per
// tick (after an unrecorded warm-up of `warmupMs`). It stays alive until told to stop, so that
// its CPU time is counted to the end of the run.
func runProducer(ctx context.Context, cfg config, ch *channel) error {
	pool, err := connect(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: logger(), Schema: cfg.Schema})
	if err != nil {
		return err
	}
	args := argsFor(cfg.PayloadBytes)
	insert := func(n int) ([]int64, error) {
		params := make([]river.InsertManyParams, n)
		for i := range params {
			params[i] = river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{Queue: cfg.Queue}}
		}
		results, err := client.InsertMany(ctx, params)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(results))
		for i, r := range results {
			ids[i] = r.Job.ID
		}
		return ids, nil
	}
	ch.send(map[string]any{"type": "ready", "pid": pid()})
	ch.waitFor("go")
	if cfg.RatePerS > 0 {
		if cfg.WarmupMs > 0 {
			ch.send(map[string]any{"type": "warmed", "report": atRate(cfg, millis(cfg.WarmupMs), false, insert)})
			ch.waitFor("go")
		}
		ch.send(map[string]any{"type": "done", "report": atRate(cfg, millis(cfg.DurationMs), cfg.Record, insert)})
	} else {
		ch.send(map[string]any{"type": "done", "report": inBatches(cfg, insert)})
	}
	ch.waitFor("stop")
	return nil
}

func inBatches(cfg config, insert func(int) ([]int64, error)) *producerReport {
	report := newReport()
	batches := (cfg.Count + cfg.BatchSize - 1) / cfg.BatchSize
	next := make(chan int, batches)
	for i := range batches {
		next <- min(cfg.BatchSize, cfg.Count-i*cfg.BatchSize)
	}
	close(next)
	var wg sync.WaitGroup
	for range min(cfg.InFlight, batches) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for size := range next {
				start := time.Now()
				_, err := insert(size)
				report.add(start, time.Now(), size, err != nil, nil)
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	return report
}

// atRate inserts `ratePerS` jobs a second for `duration`, `batchSize` per InsertMany call; at
// most `inFlight` calls outstanding (a due call that finds them all busy counts as errors, as
// the harness's rate producer does).
func atRate(cfg config, duration time.Duration, record bool, insert func(int) ([]int64, error)) *producerReport {
	report := newReport()
	perCall := max(1, cfg.BatchSize)
	interval := time.Duration(float64(time.Second) * float64(perCall) / cfg.RatePerS)
	slots := make(chan struct{}, cfg.InFlight)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if due.Sub(begin) >= duration {
			break
		}
		time.Sleep(time.Until(due))
		select {
		case slots <- struct{}{}:
		default:
			report.add(time.Now(), time.Now(), perCall, true, nil)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			start := time.Now()
			ids, err := insert(perCall)
			if !record {
				ids = nil
			}
			report.add(start, time.Now(), perCall, err != nil, ids)
		}()
	}
	wg.Wait()
	return report
}
