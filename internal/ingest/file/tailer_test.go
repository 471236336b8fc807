package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	for name, opts := range map[string]Options{
		"empty path":                  {},
		"relative path":               {Path: "audit.log"},
		"negative line limit":         {Path: "/a.log", MaxLineBytes: -1},
		"negative poll":               {Path: "/a.log", PollInterval: -time.Second},
		"checkpoint without identity": {Path: "/a.log", From: &Checkpoint{}},
		"negative offset":             {Path: "/a.log", From: &Checkpoint{Identity: "1:2", Position: Position{Offset: -1}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
	tl, err := New(Options{Path: "/a.log"})
	if err != nil {
		t.Fatal(err)
	}
	if tl.opts.MaxLineBytes != DefaultMaxLineBytes || tl.opts.PollInterval != DefaultPollInterval {
		t.Errorf("defaults not applied: %+v", tl.opts)
	}
}

func TestPositionLess(t *testing.T) {
	for _, c := range []struct {
		a, b Position
		want bool
	}{
		{Position{0, 5}, Position{0, 6}, true},
		{Position{0, 6}, Position{0, 5}, false},
		{Position{0, 5}, Position{0, 5}, false},
		{Position{0, 900}, Position{1, 0}, true},
		{Position{1, 0}, Position{0, 900}, false},
	} {
		if got := c.a.Less(c.b); got != c.want {
			t.Errorf("%v.Less(%v) = %v", c.a, c.b, got)
		}
	}
}

// A partly written last line is held until its '\n' arrives.
func TestPartialLineIsHeld(t *testing.T) {
	path := logPath(t)
	appendFile(t, path, `{"a":`)
	r := run(t, Options{Path: path})
	time.Sleep(5 * testPoll)
	if n := r.count(); n != 0 {
		t.Fatalf("delivered %d lines before the '\\n'", n)
	}
	appendFile(t, path, "1}\n")
	mustEqual(t, r.waitLines(t, 1), []string{`{"a":1}`})
	_, cps := r.snapshot()
	if want := (Position{0, 8}); cps[0].Position != want {
		t.Errorf("end %v, want %v", cps[0].Position, want)
	}
}

// The file does not exist yet: Run waits, says so through OnWaiting, and
// reads the file from its beginning once it appears (even with StartAtEnd).
func TestWaitsForMissingFile(t *testing.T) {
	path := logPath(t)
	var mu sync.Mutex
	var calls []error
	onWaiting := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, err)
	}
	ncalls := func() int { mu.Lock(); defer mu.Unlock(); return len(calls) }
	r := run(t, Options{Path: path, StartAtEnd: true, OnWaiting: onWaiting})
	eventually(t, time.Second, func() bool { return ncalls() == 1 })
	mu.Lock()
	first := calls[0]
	mu.Unlock()
	if !errors.Is(first, fs.ErrNotExist) {
		t.Fatalf("OnWaiting(%v), want an error wrapping fs.ErrNotExist", first)
	}
	want, text := numbered("a", 0, 3)
	appendFile(t, path, text)
	mustEqual(t, r.waitLines(t, 3), want)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 || calls[1] != nil {
		t.Errorf("OnWaiting calls %v, want [not exist, nil]", calls)
	}
}

// StartAtEnd skips what the file holds, including the rest of a partly
// written line.
func TestStartAtEnd(t *testing.T) {
	path := logPath(t)
	appendFile(t, path, "old1\nold2\npart")
	r := run(t, Options{Path: path, StartAtEnd: true})
	time.Sleep(3 * testPoll)
	appendFile(t, path, "ial\nnew\n")
	mustEqual(t, r.waitLines(t, 1), []string{"new"})
}

func TestRunErrors(t *testing.T) {
	t.Run("fn error", func(t *testing.T) {
		path := logPath(t)
		appendFile(t, path, "a\n")
		tl, _ := New(Options{Path: path, PollInterval: testPoll})
		boom := errors.New("boom")
		if err := tl.Run(context.Background(), func(Batch) error { return boom }); err != boom {
			t.Errorf("Run = %v, want fn's error", err)
		}
	})
	t.Run("not a regular file", func(t *testing.T) {
		dir := t.TempDir()
		tl, _ := New(Options{Path: dir, PollInterval: testPoll})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := tl.Run(ctx, func(Batch) error { return nil })
		if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), dir) {
			t.Errorf("Run = %v, want an error naming %s", err, dir)
		}
	})
	t.Run("cancel while waiting", func(t *testing.T) {
		tl, _ := New(Options{Path: logPath(t), PollInterval: testPoll})
		ctx, cancel := context.WithTimeout(context.Background(), 5*testPoll)
		defer cancel()
		if err := tl.Run(ctx, func(Batch) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Run = %v, want ctx's error", err)
		}
	})
}

// After 2 s idle a new line comes within ~1 s at the default poll interval,
// and the idle tailer burns (almost) no CPU.
func TestIdleNoStallNoBusyLoop(t *testing.T) {
	path := logPath(t)
	appendFile(t, path, "first\n")
	r := run(t, Options{Path: path, PollInterval: DefaultPollInterval})
	r.waitLines(t, 1)
	before := cpuTime(t)
	time.Sleep(2 * time.Second)
	if used := cpuTime(t) - before; used > 200*time.Millisecond {
		t.Errorf("idle tailer used %s of CPU in 2s", used)
	}
	start := time.Now()
	appendFile(t, path, "second\n")
	eventually(t, 5*time.Second, func() bool { return r.count() == 2 })
	if d := time.Since(start); d > time.Second {
		t.Errorf("line delivered after %s", d)
	}
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Lines longer than MaxLineBytes are counted and skipped, also when they
// arrive over several reads, without losing the line after them.
func TestOversizedLinesAreSkipped(t *testing.T) {
	path := logPath(t)
	const max = 1000
	exact := strings.Repeat("e", max)
	appendFile(t, path, "short1\n"+strings.Repeat("x", 5000)+"\nshort2\n")
	r := run(t, Options{Path: path, MaxLineBytes: max})
	r.waitLines(t, 2)
	for range 3 { // a long line written slowly: the skip spans polls
		appendFile(t, path, strings.Repeat("y", 900))
		time.Sleep(2 * testPoll)
	}
	appendFile(t, path, "\nshort3\n"+exact+"\n"+exact+"f\nshort4\n")
	mustEqual(t, r.waitLines(t, 5), []string{"short1", "short2", "short3", exact, "short4"})
	if got := r.tailer.Stats().Oversized; got != 3 {
		t.Errorf("Oversized = %d, want 3", got)
	}
}

// The default limit delivers a 4 MiB line whole and skips one byte more.
func TestFourMiBLine(t *testing.T) {
	path := logPath(t)
	big := strings.Repeat("b", DefaultMaxLineBytes)
	appendFile(t, path, "a\n"+big+"\n"+big+"c\nd\n")
	r := run(t, Options{Path: path})
	lines := r.waitLines(t, 3)
	if len(lines) != 3 || lines[0] != "a" || lines[1] != big || lines[2] != "d" {
		t.Fatalf("got %d lines, want a, the 4 MiB line, d", len(lines))
	}
	if s := r.tailer.Stats(); s.Oversized != 1 || s.Lines != 3 {
		t.Errorf("stats %+v, want 1 oversized, 3 lines", s)
	}
}

// A 48 MiB line does not make the buffer grow past the limit.
func TestMemoryBounded(t *testing.T) {
	path := logPath(t)
	const max = 1 << 20
	appendFile(t, path, strings.Repeat("z", 48<<20)+"\nafter\n")
	var before, after runtimeMem
	before.read()
	tl, _ := New(Options{Path: path, MaxLineBytes: max, PollInterval: testPoll})
	done := errors.New("done")
	err := tl.Run(context.Background(), func(b Batch) error {
		if string(b.Lines[0]) != "after" {
			t.Errorf("got line of %d bytes, want after", len(b.Lines[0]))
		}
		return done
	})
	after.read()
	if err != done {
		t.Fatal(err)
	}
	if alloc := after.total - before.total; alloc > 3*max+(1<<20) {
		t.Errorf("allocated %d bytes for a %d-byte limit", alloc, max)
	}
}

// An unterminated tail of a file rotated away is delivered as a line once
// the tailer moves to the new file.
func TestUnterminatedTailAtRotation(t *testing.T) {
	path := logPath(t)
	appendFile(t, path, "a\nb")
	r := run(t, Options{Path: path})
	r.waitLines(t, 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, "c\n")
	mustEqual(t, r.waitLines(t, 3), []string{"a", "b", "c"})
	_, cps := r.snapshot()
	for i, want := range []Position{{0, 2}, {0, 3}, {1, 2}} {
		if cps[i].Position != want {
			t.Errorf("line %d ends at %v, want %v", i, cps[i].Position, want)
		}
	}
}

// rename+create while a writer writes: every line once, in order, with
// positions increasing across files.
func TestRenameRotationWhileWriting(t *testing.T) {
	path := logPath(t)
	const total, perFile = 6000, 1000
	want, _ := numbered("r", 0, total)
	r := run(t, Options{Path: path})
	errc := make(chan error, 1)
	go func() { errc <- writeRotating(path, want, perFile) }()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mustEqual(t, r.waitLines(t, total), want)
	_, cps := r.snapshot()
	for i := 1; i < len(cps); i++ {
		if !cps[i-1].Position.Less(cps[i].Position) {
			t.Fatalf("position %v of line %d not after %v", cps[i].Position, i, cps[i-1].Position)
		}
	}
	if got := r.tailer.Stats().Rotations; got != total/perFile-1 {
		t.Errorf("Rotations = %d, want %d", got, total/perFile-1)
	}
	if last := cps[len(cps)-1].Position.File; last != total/perFile-1 {
		t.Errorf("last line in file %d, want %d", last, total/perFile-1)
	}
}

// writeRotating writes lines like kube-apiserver's lumberjack, one write per
// line, renaming the file to audit-<n>.log and creating a new one every
// perFile lines. At odd rotations it first writes a few lines to the old fd
// while the new file exists and is empty (logrotate's create, before the
// writer reopens).
func writeRotating(path string, lines []string, perFile int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	var next *os.File
	late := 0
	for i, l := range lines {
		if i > 0 && i%perFile == 0 {
			n := i / perFile
			if err := os.Rename(path, filepath.Join(filepath.Dir(path), "audit-"+strings.Repeat("0", n)+".log")); err != nil {
				return err
			}
			if next, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
				return err
			}
			if n%2 == 1 {
				late = 5
			}
		}
		if late > 0 {
			late--
			time.Sleep(testPoll) // the tailer sees the empty new file meanwhile
		}
		if next != nil && late == 0 {
			f.Close()
			f, next = next, nil
		}
		if _, err := f.WriteString(l + "\n"); err != nil {
			return err
		}
		if i%97 == 0 {
			time.Sleep(time.Millisecond) // let the tailer catch up now and then
		}
	}
	return f.Close()
}

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// Batches stay at most maxBatchLines lines and about readChunk bytes.
func TestBatchesAreBounded(t *testing.T) {
	path := logPath(t)
	short := strings.Repeat("s\n", 10000)
	long := strings.Repeat(strings.Repeat("l", 999)+"\n", 3000)
	appendFile(t, path, short+long)
	tl, _ := New(Options{Path: path, PollInterval: testPoll})
	done := errors.New("done")
	n := 0
	err := tl.Run(context.Background(), func(b Batch) error {
		size := 0
		for _, l := range b.Lines {
			size += len(l) + 1
		}
		if len(b.Lines) > maxBatchLines || size > readChunk {
			t.Errorf("batch of %d lines, %d bytes", len(b.Lines), size)
		}
		if n += len(b.Lines); n == 13000 {
			return done
		}
		return nil
	})
	if err != done {
		t.Fatal(err)
	}
}
