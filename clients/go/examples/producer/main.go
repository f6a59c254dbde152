// Command producer is the example Go producer: submit, batch-submit, get, list, cancel and
// wait for tasks, printing each task as one JSON line.
//
//	go run ./examples/producer submit -server localhost:50051 -type echo -payload '{"hello":"world"}' -wait
//	go run ./examples/producer get -id 01a2…
//	go run ./examples/producer cancel -id 01a2… -reason "not needed"
//
// Run it without arguments for every command and flag. The OTEL_* variables turn tracing
// on (OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318): each command runs in a span
// "producer <command>", and the tasks it submits run in its trace.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/taskqueue/taskqueue/clients/go/examples/internal/otelsetup"
	"github.com/taskqueue/taskqueue/clients/go/taskqueue"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const usage = `usage: producer COMMAND [flags]

commands:
  submit   submit one task        (-queue -type -payload -priority -max-attempts -timeout -idempotency-key -wait)
  batch    submit many in one call (-queue -type -payloads '[{...},{...}]')
  get      show one task           (-id -attempts)
  list     list tasks, newest first (-queue -type -state -limit)
  cancel   cancel a task           (-id -reason)
  wait     wait for a final state  (-id)
every command takes -server host:port (env TQ_SERVER, default localhost:50051) and -timeout-total
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := traced(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "producer:", err)
		var apiErr *taskqueue.Error
		if errors.As(err, &apiErr) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

// command holds the flags every command shares and the ones it declares.
type command struct {
	flags   *flag.FlagSet
	server  *string
	total   *time.Duration
	queue   *string
	id      *string
	typ     *string
	printer *json.Encoder
}

func newCommand(name string) *command {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	server := os.Getenv("TQ_SERVER")
	if server == "" {
		server = "localhost:50051"
	}
	return &command{
		flags:   fs,
		server:  fs.String("server", server, "server address host:port"),
		total:   fs.Duration("timeout-total", 60*time.Second, "bound of the whole command"),
		queue:   fs.String("queue", "default", "queue name"),
		id:      fs.String("id", "", "task id"),
		typ:     fs.String("type", "", "task type"),
		printer: json.NewEncoder(os.Stdout),
	}
}

// traced runs the command inside a span "producer <command>" when the OTEL_* variables turn
// tracing on (see otelsetup): the tasks it submits then run in its trace.
func traced(name string, args []string) error {
	shutdown, err := otelsetup.Start(context.Background(), "taskqueue-example-producer")
	if err != nil {
		return err
	}
	defer func() { _ = shutdown(context.Background()) }()
	ctx, span := otel.Tracer("taskqueue-example-producer").Start(context.Background(), "producer "+name)
	defer span.End()
	err = run(ctx, name, args)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

func run(parent context.Context, name string, args []string) error {
	c := newCommand(name)
	payload := c.flags.String("payload", "", "JSON payload (submit)")
	payloads := c.flags.String("payloads", "[]", "JSON array of payloads, one task each (batch)")
	priority := c.flags.Int("priority", 0, "priority 0-100 (submit)")
	maxAttempts := c.flags.Int("max-attempts", 0, "attempts allowed, 0 for the server default (submit)")
	timeout := c.flags.Duration("timeout", 0, "per-attempt execution timeout (submit)")
	key := c.flags.String("idempotency-key", "", "idempotency key (submit)")
	wait := c.flags.Bool("wait", false, "wait until the task reaches a final state (submit)")
	attempts := c.flags.Bool("attempts", false, "also print the attempt history (get)")
	state := c.flags.String("state", "", "comma-separated states, e.g. QUEUED,RUNNING (list)")
	limit := c.flags.Int("limit", 20, "most tasks to list (list)")
	reason := c.flags.String("reason", "", "why (cancel)")
	if err := c.flags.Parse(args); err != nil {
		return err
	}
	client, err := taskqueue.Dial(*c.server)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(parent, *c.total)
	defer cancel()

	switch name {
	case "submit":
		spec := taskqueue.TaskSpec{Queue: *c.queue, Type: *c.typ, Priority: *priority, MaxAttempts: *maxAttempts, Timeout: *timeout, IdempotencyKey: *key}
		if *payload != "" {
			spec.Payload = json.RawMessage(*payload)
		}
		sub, err := client.Submit(ctx, spec)
		if err != nil {
			return err
		}
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("taskqueue.task.id", sub.Task.ID))
		if !*wait {
			return c.printer.Encode(sub.Task)
		}
		done, err := client.Wait(ctx, sub.Task.ID, taskqueue.WaitOptions{})
		if err != nil {
			return err
		}
		return c.printer.Encode(done)
	case "batch":
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(*payloads), &list); err != nil {
			return fmt.Errorf("-payloads: %w", err)
		}
		specs := make([]taskqueue.TaskSpec, len(list))
		for i, p := range list {
			specs[i] = taskqueue.TaskSpec{Queue: *c.queue, Type: *c.typ, Payload: p, MaxAttempts: *maxAttempts}
		}
		items, err := client.SubmitBatch(ctx, specs)
		if err != nil {
			return err
		}
		for _, item := range items {
			if item.Err != nil {
				_ = c.printer.Encode(map[string]string{"error": item.Err.Error()})
				continue
			}
			_ = c.printer.Encode(item.Task)
		}
		return nil
	case "get":
		if *attempts {
			task, history, err := client.GetWithAttempts(ctx, *c.id)
			if err != nil {
				return err
			}
			return c.printer.Encode(map[string]any{"task": task, "attempts": history})
		}
		task, err := client.Get(ctx, *c.id)
		if err != nil {
			return err
		}
		return c.printer.Encode(task)
	case "list":
		opts := taskqueue.ListOptions{Queue: *c.queue, Type: *c.typ}
		for _, s := range strings.Split(*state, ",") {
			if s = strings.TrimSpace(s); s != "" {
				opts.States = append(opts.States, taskqueue.ParseState(s))
			}
		}
		n := 0
		for task, err := range client.All(ctx, opts) {
			if err != nil {
				return err
			}
			if n >= *limit {
				break
			}
			n++
			_ = c.printer.Encode(task)
		}
		return nil
	case "cancel":
		task, err := client.Cancel(ctx, *c.id, *reason)
		if err != nil {
			return err
		}
		return c.printer.Encode(task)
	case "wait":
		task, err := client.Wait(ctx, *c.id, taskqueue.WaitOptions{})
		if err != nil {
			return err
		}
		return c.printer.Encode(task)
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", name)
	}
}
