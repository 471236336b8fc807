package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

const testPoll = 10 * time.Millisecond

// collected is what fn saw: every line with its end and a checkpoint right
// after it, and every batch checkpoint.
type collected struct {
	mu      sync.Mutex
	lines   []string
	cps     []Checkpoint // cps[i] resumes after lines[i] (Fingerprint only at batch ends)
	batches []Checkpoint
}

func (c *collected) fn(b Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, l := range b.Lines {
		c.lines = append(c.lines, string(l))
		c.cps = append(c.cps, Checkpoint{Identity: b.Checkpoint.Identity, Position: b.Ends[i]})
	}
	c.cps[len(c.cps)-1] = b.Checkpoint
	c.batches = append(c.batches, b.Checkpoint)
	return nil
}

func (c *collected) snapshot() ([]string, []Checkpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines), slices.Clone(c.cps)
}

func (c *collected) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// running is a Tailer whose Run goes on in the background.
type running struct {
	*collected
	tailer *Tailer
	cancel context.CancelFunc
	done   chan error
}

func run(t *testing.T, opts Options) *running {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = testPoll
	}
	tl, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{collected: &collected{}, tailer: tl, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- tl.Run(ctx, r.fn) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and checks that it ended with ctx's error; repeated calls are no-ops.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.done == nil {
		return
	}
	r.cancel()
	if err := <-r.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	r.done = nil
}

// waitLines waits until n lines came, then a few polls more so that extra
// lines would show, and returns them.
func (r *running) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.count() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * testPoll)
	lines, _ := r.snapshot()
	if len(lines) < n {
		t.Fatalf("got %d lines within 10s, want %d; stats %+v; first missing after %d agreeing lines",
			len(lines), n, r.tailer.Stats(), len(lines))
	}
	return lines
}

func eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// numbered returns lines "prefix-<i>" for i in [from, to), and the text with
// each followed by '\n'.
func numbered(prefix string, from, to int) ([]string, string) {
	var lines []string
	var text []byte
	for i := from; i < to; i++ {
		l := fmt.Sprintf(`{"auditID":"%s-%06d"}`, prefix, i)
		lines = append(lines, l)
		text = append(append(text, l...), '\n')
	}
	return lines, string(text)
}

func logPath(t *testing.T) string { return filepath.Join(t.TempDir(), "audit.log") }

func mustEqual(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d\n got: %.300q\nwant: %.300q", len(got), len(want), got, want)
	}
}
