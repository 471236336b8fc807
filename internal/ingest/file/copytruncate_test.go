package file

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// copytruncate right after the tailer caught up: the lines written since are
// only in the copy, and are read from it before the truncated file. With
// refill, the writer goes on past the old offset before the tailer looks, so
// only the fingerprint shows the truncation.
func TestCopyTruncateReadsTheCopy(t *testing.T) {
	for _, refill := range []bool{false, true} {
		t.Run(fmt.Sprintf("refill=%v", refill), func(t *testing.T) {
			path := logPath(t)
			first, text := numbered("a", 0, 10)
			appendFile(t, path, text)
			// A slow poll: the writes below land between two looks.
			r := run(t, Options{Path: path, PollInterval: 300 * time.Millisecond})
			r.waitLines(t, 10)
			missed, text := numbered("a", 10, 20)
			appendFile(t, path, text+`{"partial`)
			copyFile(t, path, path+".1")
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			after, text := numbered("b", 0, 3)
			if refill {
				after, text = numbered("b", 0, 40)
			}
			appendFile(t, path, text)
			want := append(append(append(first, missed...), `{"partial`), after...)
			mustEqual(t, r.waitLines(t, len(want)), want)
			if s := r.tailer.Stats(); s.Truncations != 1 || s.Rotations != 0 {
				t.Errorf("stats %+v, want 1 truncation", s)
			}
			_, cps := r.snapshot()
			_, before := numbered("a", 0, 20)
			if cp := cps[len(first)+len(missed)]; cp.Position != (Position{0, int64(len(before + `{"partial`))}) {
				t.Errorf("the copy's tail ends at %v, want {0 %d}", cp.Position, len(before+`{"partial`))
			}
			if cp := cps[len(cps)-1]; cp.Position != (Position{1, int64(len(text))}) {
				t.Errorf("last line ends at %v, want {1 %d}", cp.Position, len(text))
			}
		})
	}
}

// A writer appends continuously while logrotate-style copytruncate runs
// repeatedly (the copy is written completely before the truncate, as
// logrotate does): every line arrives once, in order.
func TestCopyTruncateWhileWriting(t *testing.T) {
	path := logPath(t)
	const total, perFile = 8000, 500
	want, _ := numbered("c", 0, total)
	r := run(t, Options{Path: path})
	errc := make(chan error, 1)
	go func() { errc <- writeCopyTruncating(path, want, perFile, r.count) }()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mustEqual(t, r.waitLines(t, total), want)
	if got := r.tailer.Stats().Truncations; got != total/perFile-1 {
		t.Errorf("Truncations = %d, want %d", got, total/perFile-1)
	}
	_, cps := r.snapshot()
	for i := 1; i < len(cps); i++ {
		if !cps[i-1].Position.Less(cps[i].Position) {
			t.Fatalf("position %v of line %d not after %v", cps[i].Position, i, cps[i-1].Position)
		}
	}
}

// writeCopyTruncating writes lines, and every perFile lines copies the file
// to a new sibling and truncates it, once the tailer has delivered a line
// written since the previous truncation: the copy of a truncation that comes
// before the tailer reads again after the previous one is not found.
func writeCopyTruncating(path string, lines []string, perFile int, delivered func() int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	for i, l := range lines {
		if i > 0 && i%perFile == 0 {
			for deadline := time.Now().Add(10 * time.Second); delivered() <= i-perFile && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.WriteFile(fmt.Sprintf("%s.%d", path, i/perFile), b, 0o600); err != nil {
				return err
			}
			if err := f.Truncate(0); err != nil {
				return err
			}
		}
		if _, err := f.WriteString(l + "\n"); err != nil {
			return err
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}
