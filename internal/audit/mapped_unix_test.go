//go:build unix

package audit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/test/bench"
)

// TestStreamFileTruncated cuts a file short while it is read in place: the
// stream stops with ErrFileShrank, and the process lives on. A cut within
// the last page, which reads as zeros rather than faulting, is told too.
func TestStreamFileTruncated(t *testing.T) {
	for name, cut := range map[string]func(size int64) int64{
		"to nothing":       func(int64) int64 { return 0 },
		"within last page": func(size int64) int64 { return size - 40 },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			f, err := os.Create(path)
			require.NoError(t, err)
			_, err = bench.Generate(f, 20000, 4)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			info, err := os.Stat(path)
			require.NoError(t, err)

			f, err = os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			truncated := false
			stats, err := StreamFile(f, StreamOptions{Workers: 1}, func([]Event) {
				if !truncated {
					require.NoError(t, os.Truncate(path, cut(info.Size())))
					truncated = true
				}
			})
			require.ErrorIs(t, err, ErrFileShrank)
			require.Positive(t, stats.Events, "what was read before is counted")
		})
	}
}

// loaded keeps the loads of TestFaultOutsideTheMapping from being dropped.
var loaded byte

// TestFaultOutsideTheMapping holds readingMapped to faults in the mapping
// it was given: a fault anywhere else is not a truncated file.
func TestFaultOutsideTheMapping(t *testing.T) {
	mapped := func(content string) []byte {
		path := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		data, unmap, ok := mapFile(f)
		require.True(t, ok)
		t.Cleanup(unmap)
		require.NoError(t, os.Truncate(path, 0))
		return data
	}
	mine, other := mapped("mine"), mapped("other")
	require.ErrorIs(t, readingMapped(mine, func() { loaded = mine[0] }), ErrFileShrank)
	require.Panics(t, func() { _ = readingMapped(mine, func() { loaded = other[0] }) })
	require.Panics(t, func() { _ = readingMapped(mine, func() { panic("not a fault") }) })
}
