package taskqueue

import "sync"

// slots counts the handlers running on a worker, across its sessions: a handler that
// outlives its stream still holds its slot until it returns.
type slots struct {
	capacity int
	mu       sync.Mutex
	busy     int
	// changed receives a value (non-blocking, coalesced) whenever a slot is freed.
	changed chan struct{}
}

func newSlots(capacity int) *slots {
	return &slots{capacity: capacity, changed: make(chan struct{}, 1)}
}

func (s *slots) acquire() {
	s.mu.Lock()
	s.busy++
	s.mu.Unlock()
}

func (s *slots) release() {
	s.mu.Lock()
	s.busy--
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *slots) inUse() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}
