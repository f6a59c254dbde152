package taskqueue

import (
	"sync"

	taskqueuev1 "github.com/taskqueue/taskqueue/clients/go/gen/taskqueue/v1"
	"google.golang.org/grpc"
)

// outbox queues the requests of one stream without bounds, so the session's event loop
// never blocks on a slow (or deaf) server; one sender goroutine writes them in order.
// Closing it half-closes the stream once the queued requests are written.
type outbox struct {
	mu     sync.Mutex
	queue  []*taskqueuev1.ConnectRequest
	closed bool
	wake   chan struct{}
}

func newOutbox() *outbox { return &outbox{wake: make(chan struct{}, 1)} }

// push queues a request; it is dropped once the outbox is closed.
func (o *outbox) push(req *taskqueuev1.ConnectRequest) {
	o.mu.Lock()
	if !o.closed {
		o.queue = append(o.queue, req)
	}
	o.mu.Unlock()
	o.signal()
}

// close half-closes the stream after the queued requests.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// send writes queued requests to stream until the outbox is closed and empty (then it
// half-closes the stream), a write fails, or done is closed.
func (o *outbox) send(stream grpc.BidiStreamingClient[taskqueuev1.ConnectRequest, taskqueuev1.ConnectResponse], done <-chan struct{}) {
	for {
		o.mu.Lock()
		batch := o.queue
		o.queue = nil
		closed := o.closed
		o.mu.Unlock()
		for _, req := range batch {
			if err := stream.Send(req); err != nil {
				return // the receive side sees the stream's error
			}
		}
		if len(batch) == 0 {
			if closed {
				_ = stream.CloseSend()
				return
			}
			select {
			case <-o.wake:
			case <-done:
				return
			}
		}
	}
}
