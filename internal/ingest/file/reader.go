package file

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// errCut says that drain found the file cut below what it had read.
var errCut = errors.New("file truncated")

// fpSize is how many bytes before an offset identify it: enough that a
// refilled file or an unrelated sibling does not match by chance (audit lines
// carry auditIDs and timestamps), small enough to compare on every poll.
const fpSize = 64

// reader is the state of one Run: the file being read and the bytes read
// from it but not yet delivered.
type reader struct {
	t   *Tailer
	fn  func(Batch) error
	dir string

	f    *os.File
	id   string
	file int64 // Position.File of f
	base int64 // file offset of buf[0]
	buf  []byte
	n    int // buf[:n] is read but not delivered: after deliver, a partial line

	skip      bool // discarding bytes up to the next '\n'
	countSkip bool // the discarded line is oversized (not a StartAtEnd remainder)

	prev    [fpSize]byte // the min(fpSize, base) bytes before base
	prevLen int
	scratch [fpSize]byte

	lines [][]byte
	ends  []Position

	done map[string]bool // identities of rotated files read to their end
}

func (r *reader) close() {
	if r.f != nil {
		r.f.Close()
	}
}

func (r *reader) readOff() int64 { return r.base + int64(r.n) }

// start makes f, at offset off, the file being read.
func (r *reader) start(f *os.File, id string, file, off int64) {
	if r.f != nil && r.f != f {
		r.f.Close()
	}
	r.f, r.id, r.file, r.base, r.n = f, id, file, off, 0
	r.skip, r.countSkip = false, false
	r.loadPrev()
}

// loadPrev reads prev from the file.
func (r *reader) loadPrev() {
	k := min(r.base, fpSize)
	r.prevLen = 0
	if m, _ := r.f.ReadAt(r.prev[:k], r.base-k); int64(m) == k {
		r.prevLen = int(k)
	}
}

// open positions the reader per the checkpoint or StartAtEnd.
func (r *reader) open(ctx context.Context) error {
	o := r.t.opts
	if cp := o.From; cp != nil {
		f, fi, err := r.findIdentity(cp.Identity)
		if err != nil {
			return err
		}
		if f == nil {
			// Rotated away and removed while we were down.
			r.t.stats.lost.Add(1)
			f, fi, _, err := r.waitOpen(ctx)
			if err != nil {
				return err
			}
			r.start(f, identity(fi), cp.Position.File+1, 0)
			return nil
		}
		r.start(f, cp.Identity, cp.Position.File, cp.Position.Offset)
		if fi.Size() < cp.Position.Offset || (cp.Fingerprint != "" && r.fingerprint(0) != cp.Fingerprint) {
			return r.truncated(ctx, cp.Fingerprint)
		}
		return nil
	}
	f, fi, waited, err := r.waitOpen(ctx)
	if err != nil {
		return err
	}
	var off int64
	if o.StartAtEnd && !waited {
		off = fi.Size()
	}
	r.start(f, identity(fi), 0, off)
	// Starting inside a line: its head is skipped, so skip its rest too.
	r.skip = r.prevLen > 0 && r.prev[r.prevLen-1] != '\n'
	return nil
}

// findIdentity opens the file with identity id: Path itself, or a sibling it
// was rotated to. It returns a nil file if there is none.
func (r *reader) findIdentity(id string) (*os.File, os.FileInfo, error) {
	for _, name := range append([]string{r.t.opts.Path}, r.siblings()...) {
		if fi, err := os.Stat(name); err != nil || identity(fi) != id {
			continue
		}
		f, fi, err := openRegular(name)
		if err == nil && identity(fi) == id { // not renamed since the Stat
			return f, fi, nil
		}
		if f != nil {
			f.Close()
		}
	}
	return nil, nil, nil
}

// siblings lists the files in Path's directory that may be Path rotated or
// copied: kube-apiserver names them audit-<timestamp>.log, logrotate
// audit.log.1. Compressed ones cannot be read as lines.
func (r *reader) siblings() []string {
	base := filepath.Base(r.t.opts.Path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	entries, _ := os.ReadDir(r.dir)
	var names []string
	for _, e := range entries {
		name := e.Name()
		if name != base && strings.HasPrefix(name, stem) && !compressed[filepath.Ext(name)] {
			names = append(names, filepath.Join(r.dir, name))
		}
	}
	return names
}

var compressed = map[string]bool{".gz": true, ".bz2": true, ".xz": true, ".zst": true, ".lz4": true, ".zip": true}

// follow notices rotation and truncation of Path and switches to what follows.
func (r *reader) follow(ctx context.Context) error {
	fi, err := os.Stat(r.t.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // renamed away, successor not created yet: keep reading the old file
	}
	if err != nil {
		return err
	}
	if identity(fi) != r.id {
		// Switch only once the writer has written to the new file: a
		// single writer (kube-apiserver) has then stopped writing to the
		// old one, whose fd we still hold. Until then keep reading it.
		if fi.Size() == 0 {
			return nil
		}
		return r.rotate(ctx)
	}
	if fi.Size() >= r.readOff() && r.intact(r.n) {
		return nil
	}
	return r.truncated(ctx, r.fingerprint(r.n))
}

// rotate finishes the old file and starts its successor from 0.
func (r *reader) rotate(ctx context.Context) error {
	f, fi, err := r.successor()
	if errors.Is(err, fs.ErrNotExist) {
		return nil // rotated again meanwhile; the next poll sees the result
	}
	if err != nil {
		return err
	}
	if err := r.finish(ctx); err != nil {
		f.Close()
		return err
	}
	r.t.stats.rotations.Add(1)
	r.start(f, identity(fi), r.file+1, 0)
	return nil
}

// successor opens the file written after the current one: usually the one
// at Path, but if the log rotated more than once since we last looked (the
// operator was down, or the writer is fast), the oldest sibling modified
// after the current file.
func (r *reader) successor() (*os.File, os.FileInfo, error) {
	cur, err := r.f.Stat()
	if err != nil {
		return nil, nil, err
	}
	// mtimes are coarse (a clock tick), so a file rotated in the same tick
	// as ours ties with it: the files already read are kept out by identity.
	r.done[r.id] = true
	next, nextTime := r.t.opts.Path, time.Time{}
	present := map[string]bool{}
	for _, name := range r.siblings() {
		fi, err := os.Stat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id := identity(fi)
		present[id] = true
		if r.done[id] || fi.ModTime().Before(cur.ModTime()) {
			continue
		}
		if next == r.t.opts.Path || fi.ModTime().Before(nextTime) {
			next, nextTime = name, fi.ModTime()
		}
	}
	for id := range r.done {
		if !present[id] { // gone: keep the set small
			delete(r.done, id)
		}
	}
	return openRegular(next)
}

// truncated handles a file cut below our offset (or refilled past it): the
// lines written after our last read and before the cut are only in the copy
// (copytruncate), so read that copy from our offset first, then the file
// from 0. sum identifies the bytes before our offset; "" means unknown.
func (r *reader) truncated(ctx context.Context, sum string) error {
	r.t.stats.truncations.Add(1)
	cur, curID := r.f, r.id
	if cp, cpID := r.findCopy(sum); cp != nil {
		r.f, r.id = cp, cpID
		r.loadPrev() // on resume, prev came from the refilled file
		err := r.finish(ctx)
		cp.Close()
		r.f, r.id = cur, curID
		if err != nil {
			return err
		}
	}
	// Past our offset the file holds new content, so only the held
	// partial line (if no copy completed it) is delivered, as it is.
	if err := r.flushTail(); err != nil {
		return err
	}
	r.start(cur, curID, r.file+1, 0)
	return nil
}

// findCopy looks among the siblings for one that holds our offset and whose
// bytes before it match sum.
func (r *reader) findCopy(sum string) (*os.File, string) {
	off := r.readOff()
	if sum == "" || off == 0 {
		return nil, ""
	}
	k := min(off, fpSize)
	w := make([]byte, k)
	for _, name := range r.siblings() {
		f, fi, err := openRegular(name)
		if err != nil {
			continue
		}
		if id := identity(fi); id != r.id && fi.Size() >= off {
			if m, _ := f.ReadAt(w, off-k); int64(m) == k && sumOf(w) == sum {
				return f, id
			}
		}
		f.Close()
	}
	return nil, ""
}

// intact reports whether the file still holds, before buf[end], the bytes
// we read there; a copytruncate followed by new writes past it fails this.
func (r *reader) intact(end int) bool {
	w := r.window(end)
	if len(w) == 0 {
		return true
	}
	got := r.scratch[:len(w)]
	m, _ := r.f.ReadAt(got, r.base+int64(end-len(w)))
	return m == len(w) && bytes.Equal(got, w)
}

// finish reads the file to its end and delivers its unterminated tail as a
// line: the file is left behind, so no '\n' will come. (The decoder reports
// the line as malformed if it was cut mid-event.)
func (r *reader) finish(ctx context.Context) error {
	// A file being left that is cut meanwhile ends where it was cut.
	if err := r.drain(ctx); err != nil && err != errCut {
		return err
	}
	return r.flushTail()
}

// flushTail delivers the held partial line of a file being left.
func (r *reader) flushTail() error {
	if r.skip {
		r.endSkip()
		r.consume(r.n)
		return nil
	}
	if r.n == 0 {
		return nil
	}
	r.lines = append(r.lines, r.buf[:r.n])
	r.ends = append(r.ends, Position{r.file, r.readOff()})
	err := r.emit(r.n)
	r.consume(r.n)
	return err
}

// drain reads to the current end of the file, delivering complete lines.
func (r *reader) drain(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.n == len(r.buf) {
			r.makeRoom()
		}
		from := r.n
		m, err := r.f.ReadAt(r.buf[from:min(len(r.buf), from+readChunk)], r.readOff())
		if m > 0 && !r.intact(from) {
			// Cut (and refilled) between follow's check and this read:
			// what we read may be new content at our old offset.
			r.n = from
			return errCut
		}
		if m > 0 {
			r.t.stats.bytes.Add(int64(m))
			r.n += m
			if err := r.deliver(from); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
	}
}

// makeRoom is called with a full buffer holding part of one line: grow the
// buffer up to MaxLineBytes+1, or, past that, drop the line.
func (r *reader) makeRoom() {
	max := r.t.opts.MaxLineBytes + 1
	if len(r.buf) >= max {
		r.consume(r.n)
		r.skip, r.countSkip = true, true
		return
	}
	buf := make([]byte, min(2*len(r.buf), max))
	copy(buf, r.buf[:r.n])
	r.buf = buf
}

// deliver passes the complete lines in buf[:n] to fn; bytes before from are
// known to hold no '\n' (they are a held partial line).
func (r *reader) deliver(from int) error {
	if r.skip {
		i := bytes.IndexByte(r.buf[from:r.n], '\n')
		if i < 0 {
			r.consume(r.n)
			return nil
		}
		r.consume(from + i + 1)
		r.endSkip()
		from = 0
	}
	start := 0
	for {
		i := bytes.IndexByte(r.buf[from:r.n], '\n')
		if i < 0 {
			break
		}
		end := from + i
		r.lines = append(r.lines, r.buf[start:end])
		r.ends = append(r.ends, Position{r.file, r.base + int64(end) + 1})
		start, from = end+1, end+1
		if len(r.lines) == maxBatchLines {
			if err := r.emit(start); err != nil {
				return err
			}
		}
	}
	err := r.emit(start)
	r.consume(start)
	return err
}

// emit calls fn with the pending lines, the last of which ends at buf[end].
func (r *reader) emit(end int) error {
	if len(r.lines) == 0 {
		return nil
	}
	b := Batch{Lines: r.lines, Ends: r.ends, Checkpoint: Checkpoint{
		Identity:    r.id,
		Position:    r.ends[len(r.ends)-1],
		Fingerprint: r.fingerprint(end),
	}}
	r.t.stats.lines.Add(int64(len(r.lines)))
	r.lines, r.ends = r.lines[:0], r.ends[:0]
	return r.fn(b)
}

func (r *reader) endSkip() {
	if r.countSkip {
		r.t.stats.oversized.Add(1)
	}
	r.skip, r.countSkip = false, false
}

// consume drops buf[:k], which has been delivered or skipped.
func (r *reader) consume(k int) {
	if k == 0 {
		return
	}
	if k >= fpSize {
		r.prevLen = copy(r.prev[:], r.buf[k-fpSize:k])
	} else {
		keep := min(r.prevLen, fpSize-k)
		copy(r.prev[:], r.prev[r.prevLen-keep:r.prevLen])
		r.prevLen = keep + copy(r.prev[keep:], r.buf[:k])
	}
	r.n = copy(r.buf, r.buf[k:r.n])
	r.base += int64(k)
}

// window returns the (up to fpSize) bytes before buf[end].
func (r *reader) window(end int) []byte {
	if end >= fpSize {
		return r.buf[end-fpSize : end]
	}
	keep := min(r.prevLen, fpSize-end)
	w := make([]byte, 0, keep+end)
	return append(append(w, r.prev[r.prevLen-keep:r.prevLen]...), r.buf[:end]...)
}

// fingerprint identifies the bytes before buf[end] (see Checkpoint.Fingerprint).
func (r *reader) fingerprint(end int) string { return sumOf(r.window(end)) }

func sumOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}
