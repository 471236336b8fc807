package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

const (
	// DefaultMaxLineBytes bounds one line; kube-apiserver's largest events
	// (big request/response bodies at RequestResponse level) stay well below.
	DefaultMaxLineBytes = 4 << 20
	// DefaultPollInterval is how often an idle tailer looks for new bytes and rotation.
	DefaultPollInterval = 200 * time.Millisecond

	readChunk     = 1 << 20 // bytes read at once; also bounds a batch to ~1 MiB
	maxBatchLines = 4096
)

// Position orders lines. File counts the files read since the source began: it
// increases by one at each rotation (rename+create or truncation) followed.
// Offset is the byte offset just after a line's '\n' (for the unterminated
// tail of a file left behind, just after its last byte).
type Position struct {
	File   int64
	Offset int64
}

// Less reports whether a comes before b.
func (a Position) Less(b Position) bool {
	if a.File != b.File {
		return a.File < b.File
	}
	return a.Offset < b.Offset
}

// Checkpoint says where to resume.
type Checkpoint struct {
	// Identity is the file's identity, "<dev>:<inode>", so a rotated file is
	// told apart from its successor at the same path.
	Identity string
	// Position is just after the last line delivered.
	Position Position
	// Fingerprint is a hash of the (up to 64) bytes before Position.Offset.
	// Optional: when given, resuming notices a file that was truncated and
	// refilled past Offset while the tailer was down, and finds the
	// copytruncate copy that holds the rest of the old content.
	Fingerprint string
}

// Options configure a Tailer.
type Options struct {
	// Path is the absolute path of the log.
	Path string
	// From is where to resume; nil means no checkpoint (see StartAtEnd).
	From *Checkpoint
	// StartAtEnd skips what the file already holds when there is no
	// checkpoint (a partly written last line is skipped too). A file that
	// appears only after Run started is always read from its beginning.
	StartAtEnd bool
	// MaxLineBytes bounds a line (without its '\n'); longer lines are
	// counted in Stats.Oversized and skipped. 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// PollInterval is how often an idle tailer looks for new bytes and
	// rotation. 0 means DefaultPollInterval.
	PollInterval time.Duration
	// OnWaiting, if set, is called from Run's goroutine when Run finds no
	// file at Path and starts waiting for one (err wraps fs.ErrNotExist, so
	// the operator can surface "file missing"), and with nil once the file
	// appears. It is called at most once each per Run.
	OnWaiting func(err error)
}

// Batch is a run of complete lines from one file. Lines and the slices they
// hold are only valid during the call to fn.
type Batch struct {
	Lines [][]byte   // each without its trailing '\n'
	Ends  []Position // Ends[i] is the position just after Lines[i]
	// Checkpoint resumes right after the last line of this batch.
	Checkpoint Checkpoint
}

// Stats are cumulative counters of a Tailer.
type Stats struct {
	Bytes       int64 // bytes read, including those of skipped lines
	Lines       int64 // lines delivered
	Oversized   int64 // lines longer than MaxLineBytes, skipped
	Rotations   int64 // rename+create rotations followed
	Truncations int64 // truncations (copytruncate) followed
	// LostCheckpoints counts resumes whose checkpointed file was no longer in
	// Path's directory: the current file is read from 0, and whatever the
	// lost file held after the checkpoint is gone.
	LostCheckpoints int64
}

// Tailer follows one audit log file, polling every PollInterval (the
// fallback fsnotify would need anyway; an idle poll is one stat and one
// 64-byte read).
//
// Rotation. When Path names another file that the writer has started to fill
// (an empty successor means the writer may still flush into the old file,
// whose fd is kept), the old file is read to its end and the successor from
// 0. The successor is the one at Path unless the log rotated more than once
// since the last look: then the rotated siblings (audit-<timestamp>.log,
// audit.log.1; not compressed ones) modified after the old file are read
// first, oldest first. When the file at Path is the same file but shorter
// than our offset, or its bytes before our offset changed (copytruncate,
// then new writes), the sibling copy that holds those bytes is read from our
// offset to its end first, then the file from 0.
//
// What can still be lost, and how it shows:
//   - lines written between logrotate's copy and its truncate (inherent to
//     copytruncate); and a second copytruncate before the tailer has read
//     the file again after the first (the first copy is found, not the second);
//   - lines only in a compressed or removed rotated file (counted in
//     Stats.LostCheckpoints when it was the checkpoint's file; an unseen
//     intermediate file removed while the operator was down leaves no trace);
//   - with a checkpoint without Fingerprint, a file truncated and refilled past
//     the checkpoint's offset while the operator was down is read from that
//     offset: the new lines before it are lost, the first one read may be cut;
//   - writes to a rotated file after the writer wrote to its successor (a
//     single writer such as kube-apiserver never does this).
//
// A file left behind that ends without '\n' (rotation, truncation) has that
// tail delivered as its last line once the file is left.
type Tailer struct {
	opts  Options
	stats struct {
		bytes, lines, oversized, rotations, truncations, lost atomic.Int64
	}
}

// New validates opts and fills in defaults.
func New(opts Options) (*Tailer, error) {
	switch {
	case opts.Path == "" || !filepath.IsAbs(opts.Path):
		return nil, fmt.Errorf("audit log path %q must be absolute", opts.Path)
	case opts.MaxLineBytes < 0:
		return nil, fmt.Errorf("max line bytes %d must not be negative", opts.MaxLineBytes)
	case opts.PollInterval < 0:
		return nil, fmt.Errorf("poll interval %s must not be negative", opts.PollInterval)
	}
	if cp := opts.From; cp != nil {
		if cp.Identity == "" || cp.Position.File < 0 || cp.Position.Offset < 0 {
			return nil, fmt.Errorf("invalid checkpoint %+v", *cp)
		}
		c := *cp // the caller may reuse its value
		opts.From = &c
	}
	if opts.MaxLineBytes == 0 {
		opts.MaxLineBytes = DefaultMaxLineBytes
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	return &Tailer{opts: opts}, nil
}

// Stats returns the counters; safe to call from any goroutine.
func (t *Tailer) Stats() Stats {
	s := &t.stats
	return Stats{
		Bytes: s.bytes.Load(), Lines: s.lines.Load(), Oversized: s.oversized.Load(),
		Rotations: s.rotations.Load(), Truncations: s.truncations.Load(), LostCheckpoints: s.lost.Load(),
	}
}

// Run reads until ctx is done, calling fn with each batch from Run's
// goroutine. It returns ctx.Err() on cancellation, fn's error if fn fails, or
// an error naming the file and the problem (unreadable, not a regular file).
// A missing file is waited for (see Options.OnWaiting), not an error.
func (t *Tailer) Run(ctx context.Context, fn func(Batch) error) error {
	bufSize := min(readChunk, t.opts.MaxLineBytes+1)
	r := &reader{t: t, fn: fn, dir: filepath.Dir(t.opts.Path), buf: make([]byte, bufSize), done: map[string]bool{}}
	defer r.close()
	if err := r.open(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(t.opts.PollInterval)
	defer tick.Stop()
	for {
		if err := r.follow(ctx); err != nil {
			return err
		}
		err := r.drain(ctx)
		if err == errCut {
			err = r.truncated(ctx, r.fingerprint(r.n))
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// waitOpen opens Path, polling while it does not exist.
func (r *reader) waitOpen(ctx context.Context) (f *os.File, fi os.FileInfo, waited bool, err error) {
	onWaiting := r.t.opts.OnWaiting
	for {
		f, fi, err = openRegular(r.t.opts.Path)
		if err == nil {
			if waited && onWaiting != nil {
				onWaiting(nil)
			}
			return f, fi, waited, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, err
		}
		if !waited && onWaiting != nil {
			onWaiting(err)
		}
		waited = true
		select {
		case <-ctx.Done():
			return nil, nil, waited, ctx.Err()
		case <-time.After(r.t.opts.PollInterval):
		}
	}
}

// openRegular opens path and checks that it is a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("audit log %s is not a regular file (mode %s)", path, fi.Mode())
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}
