package controller

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/audicia/audicia/api/v1alpha1"
	"github.com/audicia/audicia/internal/audit"
	"github.com/audicia/audicia/internal/ingest/file"
	"github.com/audicia/audicia/internal/ingest/webhook"
	"github.com/audicia/audicia/internal/metrics"
)

// fileIngester tails a file source's audit log.
type fileIngester struct {
	source          string
	spec            v1alpha1.FileSource
	skipSystemUsers bool
	// skipped counts the oversized lines of earlier runs; current is the
	// tailer of the run in progress.
	skipped atomic.Int64
	current atomic.Pointer[file.Tailer]
}

func (f *fileIngester) undecodable() int64 {
	n := f.skipped.Load()
	if t := f.current.Load(); t != nil {
		n += t.Stats().Oversized
	}
	return n
}

func (f *fileIngester) run(ctx context.Context, from *v1alpha1.FileCheckpoint, out chan<- batch, state func(ingestState)) error {
	opts := file.Options{
		Path:       f.spec.Path,
		StartAtEnd: f.spec.StartPosition == v1alpha1.StartPositionEnd,
		OnWaiting: func(err error) {
			if err != nil {
				state(ingestState{reason: v1alpha1.ReasonFileMissing, message: fmt.Sprintf("waiting for the audit log: %v", err)})
			} else {
				state(f.tailing())
			}
		},
	}
	if from != nil {
		opts.From = &file.Checkpoint{Identity: from.FileIdentity, Fingerprint: from.Fingerprint,
			Position: file.Position{File: from.Position.Sequence, Offset: from.Position.Offset}}
	}
	t, err := file.New(opts)
	if err != nil {
		return err
	}
	f.current.Store(t)
	defer func() {
		f.skipped.Add(t.Stats().Oversized)
		f.current.Store(nil)
	}()
	state(f.tailing())
	dec := audit.NewDecoder()
	dec.SkipSystemUsers = f.skipSystemUsers
	var exported file.Stats
	err = t.Run(ctx, func(b file.Batch) error {
		if stats := t.Stats(); stats.LostCheckpoints != exported.LostCheckpoints {
			ctrl.LoggerFrom(ctx).Error(errCheckpointLost, "reading from the start of the current file", "path", f.spec.Path)
			state(f.tailing())
		}
		exported = exportTailerStats(f.source, exported, t.Stats())
		return send(ctx, out, decodeLines(dec, &b))
	})
	exportTailerStats(f.source, exported, t.Stats())
	switch {
	case ctx.Err() != nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		state(ingestState{reason: v1alpha1.ReasonFileUnreadable, message: err.Error()})
	}
	return err
}

var errCheckpointLost = errors.New("the checkpoint's file was gone (rotated away and removed or compressed while the source was stopped): " +
	"the lines it held after the checkpoint were not read")

// tailing is the state of a file being read; it says when the run began
// with the checkpoint's file gone.
func (f *fileIngester) tailing() ingestState {
	s := ingestState{ok: true, reason: v1alpha1.ReasonTailing, message: "reading " + f.spec.Path}
	if t := f.current.Load(); t != nil && t.Stats().LostCheckpoints > 0 {
		s.message += "; " + errCheckpointLost.Error()
	}
	return s
}

// exportTailerStats adds what the tailer counted since exported to the
// metrics, and returns what is exported now.
func exportTailerStats(source string, exported, now file.Stats) file.Stats {
	metrics.EventsMalformed.WithLabelValues(source).Add(float64(now.Oversized - exported.Oversized))
	metrics.FileRotations.WithLabelValues(source).Add(float64(now.Rotations + now.Truncations - exported.Rotations - exported.Truncations))
	return now
}

// decodeLines decodes a tailer batch; each event keeps the position of its line.
func decodeLines(dec *audit.Decoder, b *file.Batch) batch {
	out := batch{checkpoint: &v1alpha1.FileCheckpoint{
		FileIdentity: b.Checkpoint.Identity,
		Fingerprint:  b.Checkpoint.Fingerprint,
		Position:     filePosition(b.Checkpoint.Position),
	}}
	for i, line := range b.Lines {
		n := len(out.events)
		events, malformed, err := dec.Decode(line, out.events)
		out.events = events
		out.malformed += int64(malformed)
		if err != nil {
			out.malformed++
		}
		for range out.events[n:] {
			out.ends = append(out.ends, filePosition(b.Ends[i]))
		}
	}
	return out
}

func filePosition(p file.Position) v1alpha1.FilePosition {
	return v1alpha1.FilePosition{Sequence: p.File, Offset: p.Offset}
}

func send(ctx context.Context, out chan<- batch, b batch) error {
	select {
	case out <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tlsMaterial is what a webhook source's Secrets hold.
type tlsMaterial struct {
	cert, key []byte
	clientCA  []byte
}

// webhookIngester receives a webhook source's events over HTTPS.
type webhookIngester struct {
	source          string
	spec            v1alpha1.WebhookSource
	skipSystemUsers bool

	mu       sync.Mutex
	tls      tlsMaterial
	receiver *webhook.Receiver
	// skipped counts the malformed bodies and items of earlier receivers.
	skipped int64
}

func (w *webhookIngester) undecodable() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.skipped
	if w.receiver != nil {
		n += int64(w.receiver.Stats().Malformed)
	}
	return n
}

// setTLS takes new TLS material; a running receiver uses it for new
// connections at once.
func (w *webhookIngester) setTLS(m tlsMaterial) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tls = m
	if w.receiver == nil {
		return nil
	}
	return applyTLS(w.receiver, m)
}

func applyTLS(r *webhook.Receiver, m tlsMaterial) error {
	if err := r.SetServingCertificate(m.cert, m.key); err != nil {
		return err
	}
	return r.SetClientCA(m.clientCA)
}

func (w *webhookIngester) run(ctx context.Context, _ *v1alpha1.FileCheckpoint, out chan<- batch, state func(ingestState)) error {
	r, err := webhook.New(webhook.Options{
		Addr:               fmt.Sprintf(":%d", w.spec.Port),
		MaxRequestBytes:    w.spec.MaxRequestBytes,
		MaxEventsPerSecond: int(w.spec.MaxEventsPerSecond),
		AllowedClientNames: w.spec.AllowedClientNames,
		Source:             w.source,
		NewDecoder: func() *audit.Decoder {
			d := audit.NewDecoder()
			d.SkipSystemUsers = w.skipSystemUsers
			return d
		},
	}, func(events []audit.Event) error {
		// A full queue refuses the batch: kube-apiserver retries it, and it
		// was never seen, so it is counted once.
		select {
		case out <- batch{events: append([]audit.Event(nil), events...)}:
			return nil
		default:
			return webhook.ErrBusy
		}
	})
	if err != nil {
		return err
	}
	w.mu.Lock()
	err = applyTLS(r, w.tls)
	if err == nil {
		w.receiver = r
	}
	w.mu.Unlock()
	if err != nil {
		state(ingestState{reason: v1alpha1.ReasonTLSSecretInvalid, message: err.Error()})
		return err
	}
	defer func() {
		w.mu.Lock()
		w.skipped += int64(r.Stats().Malformed)
		w.receiver = nil
		w.mu.Unlock()
	}()
	go func() {
		select {
		case <-r.Ready():
			state(ingestState{ok: true, reason: v1alpha1.ReasonListening, message: fmt.Sprintf("receiving audit events on %s", r.Addr())})
		case <-ctx.Done():
		}
	}()
	err = r.Start(ctx)
	if errors.Is(err, syscall.EADDRINUSE) {
		state(ingestState{reason: v1alpha1.ReasonPortInUse, message: err.Error()})
	}
	return err
}
