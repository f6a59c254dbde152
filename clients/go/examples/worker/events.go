package main

import (
	"bytes"
	"encoding/json"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/taskqueue/taskqueue/clients/go/taskqueue"
)

// eventPrinter writes one JSON object per line for each worker event, so people and
// scripts can follow what the worker does: {"event":"started","attempt":1,"task_id":"…",…,"time":"…"}
// (event first, then the fields by name, then the time).
type eventPrinter struct {
	mu  sync.Mutex
	out io.Writer
}

func (p *eventPrinter) print(event string, fields map[string]any) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var line bytes.Buffer
	line.WriteString(`{"event":`)
	writeJSON(&line, event)
	for _, k := range keys {
		line.WriteByte(',')
		writeJSON(&line, k)
		line.WriteByte(':')
		writeJSON(&line, fields[k])
	}
	line.WriteString(`,"time":`)
	writeJSON(&line, time.Now().UTC().Format(time.RFC3339Nano))
	line.WriteString("}\n")
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = p.out.Write(line.Bytes())
}

func writeJSON(b *bytes.Buffer, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte("null")
	}
	b.Write(data)
}

// hooks prints the worker's events.
func (p *eventPrinter) hooks() taskqueue.Hooks {
	return taskqueue.Hooks{
		OnConnected: func(s taskqueue.SessionInfo) {
			p.print("connected", map[string]any{"session_id": s.SessionID, "server_id": s.ServerID, "heartbeat_interval_ms": s.HeartbeatInterval.Milliseconds()})
		},
		OnDisconnected: func(reason string, err error) {
			fields := map[string]any{"reason": reason}
			if err != nil {
				fields["error"] = err.Error()
			}
			p.print("disconnected", fields)
		},
		OnTaskStarted: func(t *taskqueue.LeasedTask) {
			p.print("started", map[string]any{"task_id": t.ID, "type": t.Type, "attempt": t.Attempt})
		},
		OnTaskFinished: func(t *taskqueue.LeasedTask, o taskqueue.TaskOutcome) {
			fields := map[string]any{"task_id": t.ID, "type": t.Type, "attempt": t.Attempt, "outcome": string(o.Kind), "duration_ms": o.Duration.Milliseconds()}
			if o.Err != nil {
				fields["error"] = o.Err.Error()
			}
			p.print("finished", fields)
		},
		OnAck: func(a taskqueue.Ack) {
			p.print("ack", map[string]any{"task_id": a.TaskID, "status": string(a.Status)})
		},
		OnDrain: func(deadline time.Time, reason string) {
			p.print("drain", map[string]any{"reason": reason, "deadline": deadline.UTC().Format(time.RFC3339Nano)})
		},
	}
}
