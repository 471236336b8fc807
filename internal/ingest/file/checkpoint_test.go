package file

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Resuming from a checkpoint taken after line 4 of ten, in each state the
// file can be in when the operator comes back.
func TestResume(t *testing.T) {
	old, oldText := numbered("old", 0, 10)
	more, moreText := numbered("old", 10, 15) // written to the old file while down
	next, nextText := numbered("new", 0, 5)
	for name, c := range map[string]struct {
		whileDown     func(t *testing.T, path string)
		noFingerprint bool
		want          []string
		wantFirstNew  Position // end of the first line of next, if in want
		wantStats     Stats
	}{
		"same file": {
			whileDown: func(t *testing.T, path string) { appendFile(t, path, moreText) },
			want:      append(old[5:], more...),
		},
		"rotated by kube-apiserver": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				rename(t, path, filepath.Join(filepath.Dir(path), "audit-2026-11-21T21-00-00.000.log"))
				appendFile(t, path, nextText)
			},
			want:         append(append(old[5:], more...), next...),
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{Rotations: 1},
		},
		"rotated by logrotate": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				rename(t, path, path+".1")
				appendFile(t, path, nextText)
			},
			want:         append(append(old[5:], more...), next...),
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{Rotations: 1},
		},
		"rotated twice": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				rename(t, path, path+".1")
				cut := 2 * (len(next[0]) + 1)
				appendFile(t, path, nextText[:cut])
				// Newer files that are not rotated logs of Path.
				dir := filepath.Dir(path)
				appendFile(t, filepath.Join(dir, "kube-apiserver.log"), "not audit\n")
				appendFile(t, path+".9.gz", "compressed\n")
				rename(t, path+".1", path+".2")
				rename(t, path, path+".1")
				appendFile(t, path, nextText[cut:])
			},
			want:         append(append(old[5:], more...), next...),
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{Rotations: 2},
		},
		"rotated and removed": {
			whileDown: func(t *testing.T, path string) {
				rename(t, path, path+".1") // the new file gets another inode
				appendFile(t, path, nextText)
				if err := os.Remove(path + ".1"); err != nil {
					t.Fatal(err)
				}
			},
			want:         next,
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{LostCheckpoints: 1},
		},
		"copytruncate": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, nextText)
			},
			want:         append(append(old[5:], more...), next...),
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{Truncations: 1},
		},
		"copytruncate, refilled past the offset": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, nextText+nextText+nextText)
			},
			want:         append(append(append(append(old[5:], more...), next...), next...), next...),
			wantFirstNew: Position{1, int64(len(next[0])) + 1},
			wantStats:    Stats{Truncations: 1},
		},
		"copytruncate below the offset, checkpoint without fingerprint": {
			whileDown: func(t *testing.T, path string) {
				appendFile(t, path, moreText)
				copyFile(t, path, path+".1")
				truncate(t, path)
				appendFile(t, path, next[0]+"\n"+next[1]+"\n")
			},
			noFingerprint: true,
			want:          next[:2], // the copy cannot be recognised
			wantFirstNew:  Position{1, int64(len(next[0])) + 1},
			wantStats:     Stats{Truncations: 1},
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := logPath(t)
			appendFile(t, path, oldText)
			first := run(t, Options{Path: path})
			first.waitLines(t, len(old))
			first.stop(t)
			_, cps := first.snapshot()
			cp := cps[4]
			if cp.Fingerprint != "" {
				t.Fatal("per-line checkpoints carry no fingerprint")
			}
			if !c.noFingerprint {
				cp.Fingerprint = sumOf([]byte(oldText[len(oldText[:cp.Position.Offset])-fpSize : cp.Position.Offset]))
			}

			c.whileDown(t, path)
			r := run(t, Options{Path: path, From: &cp})
			mustEqual(t, r.waitLines(t, len(c.want)), c.want)
			got := r.tailer.Stats()
			got.Bytes, got.Lines, got.Oversized = 0, 0, 0
			if got != c.wantStats {
				t.Errorf("stats %+v, want %+v", got, c.wantStats)
			}
			if c.wantFirstNew != (Position{}) {
				_, cps := r.snapshot()
				if i := slices.Index(c.want, next[0]); cps[i].Position != c.wantFirstNew {
					t.Errorf("first new line ends at %v, want %v", cps[i].Position, c.wantFirstNew)
				}
			}
		})
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// Every line's end and every batch checkpoint is exact: resuming there
// yields exactly the lines after it, at the same positions, across a rename
// rotation and a copytruncate (both may happen while the tailer is down).
func TestCheckpointsAreExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var text [3]string
	for i := range text {
		for range 100 {
			text[i] += strings.Repeat(string(rune('a'+i)), 1+rng.IntN(300)) + "\n"
		}
	}
	// The logical files: the second ends in a partial line, cut by copytruncate.
	partial := text[2][:100]
	files := []string{text[0], text[1] + partial, text[2]}

	path := logPath(t)
	appendFile(t, path, text[0][:len(text[0])/2]) // several batches
	first := run(t, Options{Path: path})
	eventually(t, 10*time.Second, func() bool { return first.count() > 0 })
	appendFile(t, path, text[0][len(text[0])/2:])
	first.waitLines(t, 100)
	rename(t, path, path+".1")
	appendFile(t, path, text[1])
	first.waitLines(t, 200)
	appendFile(t, path, partial)
	copyFile(t, path, path+".2")
	truncate(t, path)
	appendFile(t, path, text[2])

	// What the run must deliver, with each line's end and fingerprint.
	var want []string
	var ends []Checkpoint
	for f, content := range files {
		for off := 0; off < len(content); {
			end := strings.IndexByte(content[off:], '\n') + 1
			if end == 0 {
				end = len(content) - off // the unterminated tail, delivered when the file is left
				want = append(want, content[off:])
			} else {
				want = append(want, content[off:off+end-1])
			}
			off += end
			ends = append(ends, Checkpoint{
				Position:    Position{int64(f), int64(off)},
				Fingerprint: sumOf([]byte(content[max(0, off-fpSize):off])),
			})
		}
	}
	mustEqual(t, first.waitLines(t, len(want)), want)
	first.stop(t)
	_, cps := first.snapshot()
	for i, cp := range cps {
		if cp.Position != ends[i].Position || (cp.Fingerprint != "" && cp.Fingerprint != ends[i].Fingerprint) {
			t.Fatalf("line %d: checkpoint %+v, want %+v", i, cp, ends[i])
		}
	}

	// Cut points: every batch end as delivered, and random line ends
	// (which carry no fingerprint in a Batch; use the expected one).
	cuts := map[int]Checkpoint{}
	for i, cp := range cps {
		if cp.Fingerprint != "" {
			cuts[i] = cp
		}
	}
	for range 30 {
		i := rng.IntN(len(cps))
		if _, ok := cuts[i]; !ok {
			cuts[i] = Checkpoint{Identity: cps[i].Identity, Position: cps[i].Position, Fingerprint: ends[i].Fingerprint}
		}
	}
	for i, cp := range cuts {
		r := run(t, Options{Path: path, From: &cp})
		mustEqual(t, r.waitLines(t, len(want)-i-1), want[i+1:])
		_, got := r.snapshot()
		for j := range got {
			if got[j].Position != ends[i+1+j].Position {
				t.Fatalf("resumed after line %d: line %d ends at %v, want %v", i, i+1+j, got[j].Position, ends[i+1+j].Position)
			}
		}
		r.stop(t)
	}
}
