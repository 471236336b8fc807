package webhook

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket of events. It differs from golang.org/x/time/rate
// in the two ways a batch receiver needs: a batch the sink refused gives its
// tokens back exactly (refund), and a batch larger than the bucket is taken
// when the bucket is full, leaving a debt later batches wait out, so the
// average rate holds without refusing such a batch forever.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64 // capacity
	tokens float64 // may go below zero (debt)
	last   time.Time
}

// newBucket returns a full bucket for perSecond events a second, holding one
// second's worth; nil when perSecond is not positive (no limit).
func newBucket(perSecond int, now time.Time) *bucket {
	if perSecond <= 0 {
		return nil
	}
	return &bucket{rate: float64(perSecond), burst: float64(perSecond), tokens: float64(perSecond), last: now}
}

// take takes n tokens at now. When there are not enough it takes nothing and
// returns how long until there are (a batch larger than the bucket needs a
// full bucket).
func (b *bucket) take(n int, now time.Time) (ok bool, wait time.Duration) {
	if b == nil || n <= 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	need := math.Min(float64(n), b.burst)
	if b.tokens < need {
		return false, time.Duration((need - b.tokens) / b.rate * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}

// refund gives back n tokens taken for a batch that was not accepted after all.
func (b *bucket) refund(n int) {
	if b == nil || n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = math.Min(b.burst, b.tokens+float64(n))
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed*b.rate)
		b.last = now
	}
}
