package webhook

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/audicia/audicia/internal/audit"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		at     time.Duration
		take   int // events of a batch; negative: refund -take
		ok     bool
		waitGE time.Duration // when refused, the wait is at least this
	}
	for name, steps := range map[string][]step{
		"within the budget, then over it": {
			{0, 60, true, 0},
			{0, 50, false, 100 * time.Millisecond}, // 40 left of 100/s, 10 short
			{0, 40, true, 0},
			{time.Second, 100, true, 0}, // refilled, capped at one second's worth
			{time.Second, 1, false, 10 * time.Millisecond},
		},
		"refund gives back the tokens of a batch the sink refused": {
			{0, 100, true, 0},
			{0, -100, true, 0},
			{0, 100, true, 0},
		},
		"a batch larger than the bucket needs it full and leaves a debt": {
			{0, 10, true, 0},
			{0, 250, false, 100 * time.Millisecond}, // needs the bucket full: 10 short
			{100 * time.Millisecond, 250, true, 0},  // taken whole: 150 in debt
			{time.Second, 1, false, 500 * time.Millisecond},
			{2600 * time.Millisecond, 100, true, 0}, // debt paid, bucket refilled
		},
		"empty batches are free": {
			{0, 100, true, 0},
			{0, 0, true, 0},
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBucket(100, t0)
			for i, s := range steps {
				if s.take < 0 {
					b.refund(-s.take)
					continue
				}
				ok, wait := b.take(s.take, at(s.at))
				if ok != s.ok || (!ok && wait < s.waitGE) || (!ok && wait <= 0) {
					t.Fatalf("step %d (take %d at %s): ok %v wait %s, want ok %v wait >= %s", i, s.take, s.at, ok, wait, s.ok, s.waitGE)
				}
			}
		})
	}
	if b := newBucket(0, t0); b != nil {
		t.Fatal("0 events/s must mean no limit")
	} else if ok, _ := b.take(1<<30, t0); !ok {
		t.Fatal("no limit refused a batch")
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestOversizeReadsNoFurtherThanTheLimit: the handler reads at most limit+1
// bytes of a body without Content-Length, and none of one whose
// Content-Length is over the limit.
func TestOversizeReadsNoFurtherThanTheLimit(t *testing.T) {
	const limit = 1000
	called := false
	r, err := New(Options{MaxRequestBytes: limit, Source: t.Name()}, func([]audit.Event) error { called = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for name, contentLength := range map[string]int64{"unknown length": -1, "declared length": 1 << 20} {
		body := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
		req := httptest.NewRequest(http.MethodPost, "/", body)
		req.ContentLength = contentLength
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: status %d, want 413", name, w.Code)
		}
		if body.n > limit+1 {
			t.Fatalf("%s: read %d bytes of the body, limit %d", name, body.n, limit)
		}
		if contentLength > limit && body.n != 0 {
			t.Fatalf("%s: read %d bytes of a body declared too large", name, body.n)
		}
		if w.Header().Get("Connection") != "close" {
			t.Fatalf("%s: connection kept open with an unread body", name)
		}
	}
	if called {
		t.Fatal("sink called for an oversized body")
	}
}
