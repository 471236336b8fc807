package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/audicia/audicia/test/bench"
)

// collect runs a stream and returns its events in a fixed order: batches
// come in no particular one.
func collect(t *testing.T, stream func(sink func([]Event)) (StreamStats, error)) ([]Event, StreamStats) {
	t.Helper()
	var events []Event
	stats, err := stream(func(batch []Event) { events = append(events, batch...) })
	require.NoError(t, err)
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(bytes.Compare(a.AuditID[:], b.AuditID[:]), cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Verb, b.Verb))
	})
	return events, stats
}

// TestStreamFileAgreesWithStream reads files in place and as streams: the
// same events and the same counts, whatever the file holds.
func TestStreamFileAgreesWithStream(t *testing.T) {
	var synthetic bytes.Buffer
	_, err := bench.Generate(&synthetic, 8000, 3) // several chunks
	require.NoError(t, err)
	lines := bytes.SplitAfter(synthetic.Bytes(), []byte("\n"))
	var messy bytes.Buffer
	for i, line := range lines {
		messy.Write(line)
		switch i {
		case 10:
			messy.WriteString("not json\n\n   \n")
		case 500:
			messy.WriteString(`{"kind":"Event","verb":"` + strings.Repeat("x", 3*chunkBytes) + "\"}\n") // oversized
		}
	}
	messy.WriteString(`{"kind":"Event","stage":"ResponseComplete","verb":"get"`) // cut short, no newline

	var items []json.RawMessage
	for _, line := range readLines(t, sharedLogs(t)[0]) {
		items = append(items, line)
	}
	document, err := json.MarshalIndent(map[string]any{"kind": "EventList", "items": items}, "", "  ")
	require.NoError(t, err)

	shared, err := os.ReadFile(sharedLogs(t)[1])
	require.NoError(t, err)

	opts := StreamOptions{MaxLineBytes: 2 * chunkBytes, SkipSystemUsers: true}
	for name, content := range map[string][]byte{"messy": messy.Bytes(), "document": document, "shared": shared} {
		path := filepath.Join(t.TempDir(), name+".log")
		require.NoError(t, os.WriteFile(path, content, 0o600))
		read := func(stream func(f *os.File, sink func([]Event)) (StreamStats, error)) ([]Event, StreamStats) {
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			return collect(t, func(sink func([]Event)) (StreamStats, error) { return stream(f, sink) })
		}
		want, wantStats := read(func(f *os.File, sink func([]Event)) (StreamStats, error) { return Stream(f, opts, sink) })
		got, gotStats := read(func(f *os.File, sink func([]Event)) (StreamStats, error) { return StreamFile(f, opts, sink) })
		require.NotEmpty(t, want, name)
		require.Equal(t, wantStats, gotStats, name)
		require.Equal(t, want, got, name)
		if name == "messy" {
			require.Equal(t, int64(1), gotStats.Oversized)
			require.Equal(t, int64(2), gotStats.Malformed)
		}
	}
}
