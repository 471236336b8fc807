package audit

import (
	"bytes"
	"testing"

	"github.com/audicia/audicia/test/bench"
)

// syntheticLog is a realistic log: the mix of kube-apiserver's stages,
// subjects, resources and outcomes the end-to-end benchmark uses.
func syntheticLog(b *testing.B, requests int) []byte {
	b.Helper()
	var buf bytes.Buffer
	if _, err := bench.Generate(&buf, requests, 1); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeLine decodes line by line on one core, as each stream worker does.
func BenchmarkDecodeLine(b *testing.B) {
	data := syntheticLog(b, 20000)
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	dec := NewDecoder()
	dec.SkipRequestReceived = true
	events := make([]Event, 0, 1)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			events, _, _ = dec.Decode(line, events[:0])
		}
	}
	b.ReportMetric(float64(len(lines))*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkStream decodes a whole log with the parallel reader.
func BenchmarkStream(b *testing.B) {
	data := syntheticLog(b, 100000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var lines int64
	for b.Loop() {
		stats, err := Stream(bytes.NewReader(data), StreamOptions{}, func([]Event) {})
		if err != nil {
			b.Fatal(err)
		}
		lines = stats.Lines
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
