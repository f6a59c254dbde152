package taskqueue

import (
	"math/rand/v2"
	"time"
)

// backoff is an exponential back-off with "equal jitter": the n-th delay is drawn uniformly
// from [d/2, d] where d = min(max, initial·2ⁿ), so reconnecting workers spread out while
// still waiting at least half the nominal delay. Not safe for concurrent use.
type backoff struct {
	initial, max time.Duration
	attempts     int
	random       func() float64
}

func newBackoff(initial, max time.Duration) *backoff {
	if max < initial {
		max = initial
	}
	return &backoff{initial: initial, max: max, random: rand.Float64}
}

// next returns the delay before the next attempt.
func (b *backoff) next() time.Duration {
	nominal := b.max
	if b.attempts < 30 {
		if d := b.initial << b.attempts; d > 0 && d < b.max {
			nominal = d
		}
	}
	b.attempts++
	return nominal/2 + time.Duration(b.random()*float64(nominal/2))
}

// reset starts again from the initial delay (after a session was welcomed).
func (b *backoff) reset() { b.attempts = 0 }
