package taskqueue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/grpc"
)

// closeGrace is how long the worker waits for the server to end the stream after the
// worker half-closed it.
const closeGrace = 2 * time.Second

// defaultDrainBound bounds a server drain that states no deadline.
const defaultDrainBound = 30 * time.Second

type sessionMode int

const (
	modeConnecting sessionMode = iota
	modeActive
	modeDraining
	modeStopping
)

// Session end reasons, reported to Hooks.OnDisconnected.
const (
	endEnded   = "ended"   // the server ended the stream
	endFailed  = "failed"  // the stream failed (see the error)
	endDeaf    = "deaf"    // the server stopped talking, or never welcomed
	endDrained = "drained" // the server drained and the session finished its work
	endStopped = "stopped" // the worker stopped
)

type sessionEnd struct {
	reason   string
	err      error
	welcomed bool
	lost     int
}

type resultKey struct{ taskID, leaseToken string }

type recvItem struct {
	msg *taskqueuev1.ConnectResponse
	err error
}

// session is one stream's life: hello, welcome, credits, assignments, heartbeats, results
// and acks, until the stream ends, fails, goes deaf, drains or the worker stops. All its
// state is owned by the goroutine running run; other goroutines (handlers, timers) hand
// it work with post.
type session struct {
	w        *Worker
	opts     *WorkerOptions
	log      *slog.Logger
	out      *outbox
	events   chan func()
	done     chan struct{}
	held     map[string]*runningTask
	unacked  map[resultKey]bool // sent results awaiting their ack: true for a success
	pending  []*taskqueuev1.TaskResult
	credit   int
	mode     sessionMode
	welcomed bool
	closing  bool
	end      *sessionEnd

	interval  time.Duration
	lastHeard time.Time
	beat      *time.Ticker
	// clockOffset is the server's clock minus ours, as the last heartbeat ack showed it: the
	// server states deadlines on its own clock.
	clockOffset time.Duration
	// maxRequest is the largest request the server accepts (from the welcome): result
	// batches stay within it.
	maxRequest int
}

func newSession(w *Worker) *session {
	return &session{
		w:       w,
		opts:    &w.opts,
		log:     w.opts.Logger,
		out:     newOutbox(),
		events:  make(chan func()),
		done:    make(chan struct{}),
		held:    map[string]*runningTask{},
		unacked: map[resultKey]bool{},

		maxRequest: defaultMaxRequestBytes,
	}
}

// post runs fn on the session's goroutine; false once the session has ended.
func (s *session) post(fn func()) bool {
	select {
	case s.events <- fn:
		return true
	case <-s.done:
		return false
	}
}

// after runs fn on the session's goroutine after d (unless the session ended).
func (s *session) after(d time.Duration, fn func()) *time.Timer {
	return time.AfterFunc(d, func() { s.post(fn) })
}

// run opens the stream on conn and serves it until it ends. stop is closed when the
// worker must stop; stopAt then gives the deadline of the graceful stop.
func (s *session) run(conn grpc.ClientConnInterface, stop <-chan struct{}, stopAt func() time.Time) sessionEnd {
	streamCtx, cancelStream := context.WithCancel(context.Background())
	defer cancelStream()
	stream, err := taskqueuev1.NewWorkerServiceClient(conn).Connect(streamCtx)
	if err != nil {
		close(s.done)
		return sessionEnd{reason: endFailed, err: wrapCallError("Connect", err)}
	}
	s.out.push(helloRequest(s.opts))
	go s.out.send(stream, s.done)
	recv := make(chan recvItem)
	go func() {
		for {
			msg, err := stream.Recv()
			select {
			case recv <- recvItem{msg, err}:
			case <-s.done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	welcomeTimer := s.after(s.opts.WelcomeTimeout, func() {
		if !s.welcomed {
			s.terminate(endDeaf, fmt.Errorf("%w: no welcome within %s", ErrDeafServer, s.opts.WelcomeTimeout))
		}
	})
	defer welcomeTimer.Stop()
	for s.end == nil {
		var beat <-chan time.Time
		if s.beat != nil {
			beat = s.beat.C
		}
		select {
		case item := <-recv:
			s.lastHeard = time.Now()
			if item.err != nil {
				s.streamEnded(item.err)
			} else {
				s.handle(item.msg)
			}
		case fn := <-s.events:
			fn()
			s.drainEvents()
		case <-s.w.slots.changed:
		case <-stop:
			stop = nil
			s.stop(stopAt())
		case <-beat:
			s.out.push(heartbeatRequest(s.heldIDs()))
		}
		if s.end == nil {
			s.flush()
		}
	}
	return s.cleanUp()
}

// drainEvents runs the work already waiting, so results finishing together go out in
// one message.
func (s *session) drainEvents() {
	for i := 0; i < 1000 && s.end == nil; i++ {
		select {
		case fn := <-s.events:
			fn()
		default:
			return
		}
	}
}

func (s *session) handle(msg *taskqueuev1.ConnectResponse) {
	if !s.welcomed && msg.GetWelcome() == nil {
		s.terminate(endFailed, fmt.Errorf("%w: expected welcome first, got %T", ErrProtocol, msg.GetMessage()))
		return
	}
	switch m := msg.GetMessage().(type) {
	case *taskqueuev1.ConnectResponse_Welcome:
		s.onWelcome(m.Welcome)
	case *taskqueuev1.ConnectResponse_Assignment:
		s.onAssignment(m.Assignment.GetTasks())
	case *taskqueuev1.ConnectResponse_Acks:
		s.onAcks(m.Acks.GetAcks())
	case *taskqueuev1.ConnectResponse_Cancel:
		if r := s.held[m.Cancel.GetTaskId()]; r != nil && (m.Cancel.GetLeaseToken() == "" || m.Cancel.GetLeaseToken() == r.task.LeaseToken) {
			s.log.Debug("task cancelled by the server", "task_id", r.task.ID, "reason", m.Cancel.GetReason())
			s.cancelTask(r, m.Cancel.GetReason())
		}
	case *taskqueuev1.ConnectResponse_Drain:
		s.onDrain(m.Drain)
	case *taskqueuev1.ConnectResponse_HeartbeatAck:
		if t := m.HeartbeatAck.GetServerTime(); t != nil {
			s.clockOffset = t.AsTime().Sub(time.Now())
		}
	}
}

func (s *session) onWelcome(welcome *taskqueuev1.Welcome) {
	if s.welcomed {
		s.log.Warn("second welcome ignored")
		return
	}
	s.welcomed = true
	s.mode = modeActive
	if n := welcome.GetMaxReceiveMessageBytes(); n > 0 {
		s.maxRequest = int(n)
	}
	s.interval = s.opts.HeartbeatInterval
	if d := welcome.GetHeartbeatInterval(); d != nil && d.AsDuration() > 0 {
		s.interval = d.AsDuration()
	}
	s.beat = time.NewTicker(s.interval)
	s.watch()
	info := SessionInfo{
		SessionID:         welcome.GetSessionId(),
		ServerID:          welcome.GetServerId(),
		LeaseDuration:     welcome.GetLeaseDuration().AsDuration(),
		HeartbeatInterval: s.interval,
	}
	s.log.Info("worker session open", "session_id", info.SessionID, "server_id", info.ServerID, "heartbeat_interval", s.interval)
	if h := s.opts.Hooks.OnConnected; h != nil {
		h(info)
	}
}

// watch checks, every heartbeat interval, that the server said something lately.
func (s *session) watch() {
	s.after(s.interval, func() {
		limit := s.interval * time.Duration(s.opts.SilentIntervals)
		if silent := time.Since(s.lastHeard); silent >= limit {
			s.terminate(endDeaf, fmt.Errorf("%w for %s", ErrDeafServer, silent.Round(time.Millisecond)))
			return
		}
		s.watch()
	})
}

// flush sends the pending results in as few messages as the server's size limit allows,
// tops up credit and, while draining or stopping, half-closes the stream once nothing is
// left to report.
func (s *session) flush() {
	if len(s.pending) > 0 {
		batches, tooLarge := resultBatches(s.pending, s.maxRequest)
		for _, id := range tooLarge {
			s.log.Error("result too large to send: failing the task instead", "task_id", id, "max_request_bytes", s.maxRequest)
		}
		for _, batch := range batches {
			for _, r := range batch {
				s.unacked[resultKey{r.GetTaskId(), r.GetLeaseToken()}] = r.GetSuccess() != nil
			}
			s.out.push(resultsRequest(batch))
		}
		s.pending = nil
	}
	s.grantCredit()
	if s.closing || (s.mode != modeDraining && s.mode != modeStopping) {
		return
	}
	if len(s.held) > 0 || len(s.unacked) > 0 {
		return
	}
	s.closing = true
	s.beat.Stop()
	s.out.close()
	reason := endDrained
	if s.mode == modeStopping {
		reason = endStopped
	}
	s.after(closeGrace, func() { s.terminate(reason, nil) })
}

// grantCredit grants free slots not already covered by outstanding credit (creditsToGrant).
func (s *session) grantCredit() {
	if s.mode != modeActive || s.closing {
		return
	}
	grant := creditsToGrant(s.opts.Concurrency, s.w.slots.inUse(), s.credit)
	if grant == 0 {
		return
	}
	s.credit += grant
	s.out.push(creditRequest(grant))
}

func (s *session) streamEnded(err error) {
	if errors.Is(err, io.EOF) {
		switch s.mode {
		case modeDraining:
			s.terminate(endDrained, nil)
		case modeStopping:
			s.terminate(endStopped, nil)
		default:
			s.terminate(endEnded, nil)
		}
		return
	}
	s.terminate(endFailed, wrapCallError("Connect", err))
}

func (s *session) terminate(reason string, err error) {
	if s.end == nil {
		s.end = &sessionEnd{reason: reason, err: err}
	}
}

// cleanUp ends the session: tasks still held lose their lease with the stream (their
// handlers are cancelled and their results discarded).
func (s *session) cleanUp() sessionEnd {
	close(s.done)
	if s.beat != nil {
		s.beat.Stop()
	}
	cause := ErrConnectionLost
	if s.end.reason == endStopped {
		cause = ErrWorkerStopping
	}
	end := *s.end
	end.welcomed = s.welcomed
	end.lost = len(s.held)
	for _, r := range s.held {
		s.drop(r, cause)
	}
	s.held = nil
	return end
}
