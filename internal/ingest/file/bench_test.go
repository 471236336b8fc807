package file

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkTail reads a pre-written 64 MiB log of ~1 KiB lines (the size of
// a typical Metadata-level audit event) from the page cache.
func BenchmarkTail(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.log")
	line := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"` +
		strings.Repeat("x", 900) + `"}` + "\n"
	const size = 64 << 20
	if err := os.WriteFile(path, []byte(strings.Repeat(line, size/len(line))), 0o600); err != nil {
		b.Fatal(err)
	}
	want := size / len(line)
	b.SetBytes(int64(want * len(line)))
	done := errors.New("done")
	b.ReportAllocs()
	for b.Loop() {
		tl, err := New(Options{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		err = tl.Run(context.Background(), func(batch Batch) error {
			n += len(batch.Lines)
			if n == want {
				return done
			}
			return nil
		})
		if err != done {
			b.Fatalf("Run = %v after %d of %d lines", err, n, want)
		}
	}
}
